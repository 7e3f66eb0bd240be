"""Idempotent Keystone registrations for the all-in-one (see ks_register in common.sh).

One Python process for many objects: each `openstack` CLI call costs ~1.6 s of start-up.
"""
import os
import sys
import time

from keystoneauth1 import exceptions as kex
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client


def retry(f, *a, **kw):
    for i in range(10):
        try:
            return f(*a, **kw)
        except (kex.ConnectFailure, kex.ServiceUnavailable, kex.InternalServerError) as e:
            print("retry after", type(e).__name__, file=sys.stderr)
            time.sleep(1 + i)
    return f(*a, **kw)


def main(specs):
    auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"],
                       password=os.environ["OS_PASSWORD"], project_name=os.environ["OS_PROJECT_NAME"],
                       user_domain_name="Default", project_domain_name="Default")
    ks = client.Client(session=session.Session(auth=auth), interface="public")
    pw = os.environ["PASS"]
    proj = (retry(ks.projects.list, name="service", domain="default")
            or [retry(ks.projects.create, "service", "default", description="Service project")])[0]
    admin = retry(ks.roles.list, name="admin")[0]
    for spec in specs:
        kind, _, rest = spec.partition(":")
        if kind == "user":
            # an existing user keeps its password: changing it revokes the
            # tokens of the services already running as that user
            found = retry(ks.users.list, name=rest, domain="default")
            u = found[0] if found else retry(ks.users.create, rest, domain="default", password=pw)
            retry(ks.roles.grant, admin, user=u, project=proj)
            print("user", rest, u.id)
        elif kind == "endpoint":
            name, stype, url = rest.split(":", 2)
            svc = (retry(ks.services.list, name=name)
                   or [retry(ks.services.create, name, stype, description=name)])[0]
            for ep in retry(ks.endpoints.list, service=svc):
                if ep.url != url:   # a moved endpoint: replace it
                    retry(ks.endpoints.delete, ep)
            have = {e.interface for e in retry(ks.endpoints.list, service=svc)}
            for itf in ("public", "internal", "admin"):
                if itf not in have:
                    retry(ks.endpoints.create, svc, url, interface=itf, region="RegionOne")
            print("service", name, stype, url, svc.id)
        elif kind == "rehash":   # re-set a password so its hash uses the current bcrypt rounds
            # (this revokes the user's tokens, ours included: use it last)
            u = retry(ks.users.list, name=rest, domain="default")[0]
            retry(ks.users.update, u, password=os.environ["OS_PASSWORD"])
            print("rehashed", rest)
        elif kind == "role":
            r = retry(ks.roles.list, name=rest) or [retry(ks.roles.create, rest)]
            print("role", rest, r[0].id)
        elif kind == "domain_admin":
            dname, uname = rest.split(":")
            dom = (retry(ks.domains.list, name=dname)
                   or [retry(ks.domains.create, dname, description="%s stack projects and users" % dname)])[0]
            found = retry(ks.users.list, name=uname, domain=dom)
            u = found[0] if found else retry(ks.users.create, uname, domain=dom, password=pw)
            retry(ks.roles.grant, admin, user=u, domain=dom)
            print("domain", dname, dom.id, "admin", uname, u.id)
        else:
            sys.exit("unknown spec %r" % spec)


if __name__ == "__main__":
    main(sys.argv[1:])
