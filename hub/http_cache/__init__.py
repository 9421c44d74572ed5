"""A shared HTTP cache (Varnish) in front of the hub: which responses it may keep, under
which tags, and the purger that tells it what a publish or withdrawal changed."""
