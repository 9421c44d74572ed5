vcl 4.1;
#
# Varnish in front of the Co-Creation Hub's workers (docs/scaling.md, "Workers and HTTP
# cache"). The hub decides what may be shared; this file only follows what it says:
#
# * stored: answers the hub marks `public` AND tags with `Hub-Cache-Tags` (the dataset
#   versions they show). Pinned versions say `max-age=31536000, immutable` and stay a year;
#   `latest` answers say `no-cache` to clients and `Surrogate-Control: max-age=300` to this
#   cache, which keeps them until a ban or five minutes, whichever comes first.
# * never stored: writes, requests with `Authorization` (keys) or a portal session cookie,
#   answers without tags
#   (catalogue lists, problems, 410s, the portal's pages), answers setting a cookie.
# * banned: the hub's purger sends `BAN /` with `Hub-Cache-Ban: <dataset>@latest ...` when a
#   publish or withdrawal commits (HUB_HTTP_CACHE_PURGE_URLS).
#
# The backend (the hub's workers) is defined in hub-backend.vcl, which `hub serve-cached`
# writes next to its working files and finds first on vcl_path.

import std;

include "hub-backend.vcl";

# Who may ban: the hub's own processes, on this machine. Add the hub hosts' addresses
# when the workers run elsewhere.
acl hub_purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN") {
        if (client.ip !~ hub_purgers) {
            return (synth(403, "Forbidden"));
        }
        # The tags' spelling is hub.http_cache.tags.TAG_PATTERN: checked before it becomes
        # part of a ban expression.
        if (req.http.Hub-Cache-Ban !~ "^[a-z0-9][a-z0-9-]*@(latest|[0-9]+)( [a-z0-9][a-z0-9-]*@(latest|[0-9]+))*$") {
            return (synth(400, "Hub-Cache-Ban must be space-separated <dataset>@<version|latest> tags"));
        }
        # Only obj.* in the expression, so the ban lurker can drop the objects in the
        # background instead of every lookup testing them. No spaces: a ban's words are
        # split on them.
        if (!std.ban("obj.http.Hub-Cache-Tags ~ (^|[[:blank:]])("
                     + regsuball(req.http.Hub-Cache-Ban, " ", "|") + ")([[:blank:]]|$)")) {
            return (synth(500, "Ban refused: " + std.ban_error()));
        }
        return (synth(200, "Banned"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.http.Authorization) {
        return (pass);
    }
    # A signed-in portal session (its cookie, hub_session) makes anything answered someone's
    # own. Other cookies (the portal's language) do not make an API answer personal, and
    # pages are never stored (they carry no cache tags), so they do not skip the cache here
    # as they would in Varnish's built-in rules.
    if (req.http.Cookie ~ "(^|;\s*)hub_session=") {
        return (pass);
    }
    return (hash);
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.http.Cache-Control !~ "(?i)(^|,)\s*public\s*(,|$)"
        || !beresp.http.Hub-Cache-Tags
        || beresp.http.Set-Cookie
        || beresp.http.Vary == "*") {
        # Not shareable: fetch it each time (hit-for-miss, so a later shareable answer for
        # the same URL is still stored).
        set beresp.ttl = 120s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (beresp.http.Surrogate-Control ~ "max-age=[0-9]+") {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, "^.*max-age=([0-9]+).*$", "\1") + "s", 0s);
    }
    # Kept past its TTL for conditional refreshes: the hub answers If-None-Match with a
    # 304 before any data query runs.
    set beresp.keep = 1h;
    set beresp.grace = 10s;
    # The counters of whoever asked first are nobody else's.
    unset beresp.http.RateLimit;
    unset beresp.http.RateLimit-Policy;
    return (deliver);
}

sub vcl_deliver {
    # Surrogate-Control is for this cache only (Edge Architecture Specification 1.0).
    unset resp.http.Surrogate-Control;
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } else if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
