"""Fills the benchmark's Magnum database with the same templates and clusters
as Berth's, through Magnum's own DB API (magnum-api is queried, not the
conductor: a cluster row is what the list endpoints read).

usage: magnum_fill.py CONF PROJECT_ID USER_ID TEMPLATES CLUSTERS IMAGE FLAVOR
"""
import sys
import uuid

import magnum.conf
from magnum.db import api as dbapi

conf, project, user, n_templates, n_clusters, image, flavor = sys.argv[1:8]
magnum.conf.CONF(['--config-file', conf], project='magnum')
db = dbapi.get_instance()
templates = []
for i in range(int(n_templates)):
    t = db.create_cluster_template({
        'uuid': str(uuid.uuid4()), 'project_id': project, 'user_id': user, 'name': 'bench-t%d' % i,
        'image_id': image, 'flavor_id': flavor, 'master_flavor_id': flavor, 'coe': 'swarm-mode',
        'cluster_distro': 'berth-swarm-node', 'server_type': 'vm', 'network_driver': 'docker',
        'external_network_id': 'public', 'dns_nameserver': '8.8.8.8', 'docker_storage_driver': 'overlay2',
        'labels': {'a': '1'}, 'tls_disabled': False, 'public': False, 'registry_enabled': False,
        'master_lb_enabled': False, 'floating_ip_enabled': True, 'hidden': False})
    templates.append(t.uuid)
for i in range(int(n_clusters)):
    cid = str(uuid.uuid4())
    db.create_cluster({
        'uuid': cid, 'project_id': project, 'user_id': user, 'name': 'bench-c%d' % i,
        'cluster_template_id': templates[i % len(templates)], 'labels': {'a': '1'}, 'flavor_id': flavor,
        'master_flavor_id': flavor, 'status': 'CREATE_COMPLETE', 'create_timeout': 60,
        'floating_ip_enabled': True, 'master_lb_enabled': False})
    for role, count in (('master', 1), ('worker', 1)):
        db.create_nodegroup({
            'uuid': str(uuid.uuid4()), 'name': 'default-%s' % role, 'cluster_id': cid, 'project_id': project,
            'flavor_id': flavor, 'image_id': image, 'node_count': count, 'role': role, 'is_default': True,
            'labels': {'a': '1'}, 'min_node_count': 0, 'status': 'CREATE_COMPLETE'})
print('magnum: %d templates, %d clusters' % (len(templates), int(n_clusters)))
