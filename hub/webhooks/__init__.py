"""Webhook delivery: where a message may go (``targets``), how it is built and signed
(``messages``), sent (``sender``), retried (``retry``), and the worker that drains the queue
PostgreSQL keeps (``worker``)."""
