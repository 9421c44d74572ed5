"""Sync the hub's catalogue with a CKAN instance (an adapter at the edge, plan/apply shape).

``plan``    pure: desired state (hub) + current state (CKAN) -> a Plan of actions
``client``  ckanapi.RemoteCKAN with retries, error kinds, call counts and key scrubbing
``apply``   observe CKAN, plan, execute the plan with a status per organisation and package
``source``  the hub's datasets (current versions and their bulk files) as desired state
``state``   the ``hub.ckan_sync`` table: last push attempt and outcome per dataset
``pull``    import an organisation's packages (metadata + CSV) from a CKAN portal into the hub
"""
