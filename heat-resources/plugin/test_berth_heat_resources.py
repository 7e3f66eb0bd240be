#
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Tests of the plugin inside Heat's own code (heat.tests harness).

The service is replaced by a fake keystoneauth session: the plugin's whole
contract with heat-engine (loading, validation, each hook) is real Heat.
Run with the type schema the service publishes:

    BERTH_TYPES_FILE=/path/resource-types.json python3 -m unittest \
        test_berth_heat_resources
"""

import json
import os
import shutil
import tempfile
from unittest import mock

from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg

from heat.common import context as heat_context
from heat.common import exception
from heat.common import template_format
from heat.engine.clients.os import nova
from heat.engine import resource
from heat.engine import resources
from heat.engine import scheduler
from heat.tests import common
from heat.tests import utils

import berth_heat_resources as plugin

TYPES_FILE = os.environ.get('BERTH_TYPES_FILE', '')


def setUpModule():
    # heat.tests expects a source checkout's etc/heat/environment.d; the
    # installed package has it in /etc/heat: load Heat's global environment
    # from there once, before the harness points elsewhere
    cfg.CONF.set_override('environment_dir', '/etc/heat/environment.d')
    resources.initialise()


class FakeResponse(object):
    def __init__(self, status, body=None, version='v1'):
        self.status_code = status
        self.text = '' if body is None else json.dumps(body)
        self.content = self.text.encode()
        self.headers = {'X-Berth-Resource-Types': version}

    def json(self):
        return json.loads(self.text)


class FakeSession(object):
    """Answers (method, path) from a script; records every request."""

    def __init__(self):
        self.requests = []
        self.script = {}

    def answer(self, method, path, *responses):
        self.script[(method, path)] = list(responses)

    def request(self, url, method, **kwargs):
        self.requests.append((method, url, kwargs))
        queue = self.script.get((method, url))
        if not queue:
            raise AssertionError('unexpected %s %s' % (method, url))
        r = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(r, Exception):
            raise r
        return r


def state(status, action='CREATE', reason='', rid='s1'):
    return FakeResponse(200, {'resource': {
        'id': rid, 'action': action, 'status': status,
        'status_reason': reason}})


TEMPLATE = '''
heat_template_version: 2021-04-16
resources:
  other:
    type: OS::Heat::RandomString
  web:
    type: OS::Container::Container
    properties:
      image: busybox
      memory: 64
      environment: {GREETING: hi}
      ports: [{port: 8080}]
'''


class PluginTestCase(common.HeatTestCase):
    def setUp(self):
        super(PluginTestCase, self).setUp()
        if not TYPES_FILE:
            self.skipTest('BERTH_TYPES_FILE is not set')
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        cfg.CONF.set_override('types_file', TYPES_FILE,
                              group='berth_heat_resources')
        cfg.CONF.set_override('cache_file',
                              os.path.join(self.tmp, 'cache.json'),
                              group='berth_heat_resources')
        self.classes = plugin.available_resource_mapping()
        for name, cls in self.classes.items():
            resource._register_class(name, cls)
        self.session = FakeSession()
        self.patchobject(heat_context.RequestContext, 'keystone_session',
                         new_callable=mock.PropertyMock,
                         return_value=self.session)
        self.patchobject(scheduler.TaskRunner, '_sleep')

    def stack(self, template=TEMPLATE):
        return utils.parse_stack(template_format.parse(template))


class LoadingTest(PluginTestCase):
    def test_builds_every_published_type_and_keeps_a_copy(self):
        self.assertEqual(['OS::Container::Container', 'OS::Container::Network',
                          'OS::Container::Volume'], sorted(self.classes))
        cls = self.classes['OS::Container::Container']
        self.assertEqual('/v1/containers', cls.api_path)
        memory = cls.properties_schema['memory']
        self.assertEqual('Integer', memory.type)
        self.assertFalse(memory.update_allowed)
        self.assertTrue(cls.properties_schema['environment'].update_allowed)
        self.assertNotIn('show', cls.attributes_schema)
        self.assertIn('logs', cls.attributes_schema)
        self.assertTrue(os.path.exists(
            cfg.CONF.berth_heat_resources.cache_file))

    def test_falls_back_to_the_cached_copy(self):
        broken = os.path.join(self.tmp, 'broken.json')
        with open(broken, 'w') as f:
            f.write('{not json')
        cfg.CONF.set_override('types_file', broken,
                              group='berth_heat_resources')
        self.assertEqual(sorted(self.classes),
                         sorted(plugin.available_resource_mapping()))

    def test_registers_nothing_and_never_raises_without_a_schema(self):
        cfg.CONF.set_override('types_file', os.path.join(self.tmp, 'none'),
                              group='berth_heat_resources')
        cfg.CONF.set_override('cache_file', os.path.join(self.tmp, 'none2'),
                              group='berth_heat_resources')
        self.assertEqual({}, plugin.available_resource_mapping())
        wrong = os.path.join(self.tmp, 'wrong.json')
        with open(wrong, 'w') as f:
            json.dump({'format': 'something-else'}, f)
        cfg.CONF.set_override('types_file', wrong,
                              group='berth_heat_resources')
        self.assertEqual({}, plugin.available_resource_mapping())

    def test_one_bad_type_does_not_stop_the_others(self):
        with open(TYPES_FILE) as f:
            data = json.load(f)
        net = data['resource_types']['OS::Container::Network']
        net['properties']['cidr']['constraints'] = [{'no_such': 1}]
        partial = os.path.join(self.tmp, 'partial.json')
        with open(partial, 'w') as f:
            json.dump(data, f)
        cfg.CONF.set_override('types_file', partial,
                              group='berth_heat_resources')
        self.assertEqual(['OS::Container::Container', 'OS::Container::Volume'],
                         sorted(plugin.available_resource_mapping()))


class ValidationTest(PluginTestCase):
    def validate(self, properties):
        tpl = ('heat_template_version: 2021-04-16\nresources:\n'
               '  other: {type: OS::Heat::RandomString}\n'
               '  web:\n    type: OS::Container::Container\n'
               '    properties:\n      image: busybox\n' +
               ''.join('      %s\n' % p for p in properties))
        return self.stack(tpl).validate()

    def test_heat_checks_types_and_constraints(self):
        err = self.assertRaises(exception.StackValidationFailed,
                                self.validate, ['restart_policy: sometimes'])
        self.assertIn('"sometimes" does not match pattern', str(err))
        err = self.assertRaises(exception.StackValidationFailed,
                                self.validate, ['ports: [{port: 0}]'])
        self.assertIn('0 is out of range', str(err))

    def test_cross_property_rules(self):
        self.patchobject(nova.FlavorConstraint, 'validate_with_client')
        err = self.assertRaises(exception.StackValidationFailed,
                                self.validate, ['flavor: f', 'memory: 64'])
        self.assertIn('give either flavor', str(err))

    def test_json_schema_covers_what_heat_cannot_say(self):
        err = self.assertRaises(exception.StackValidationFailed,
                                self.validate, ["environment: {'1A': x}"])
        self.assertIn("'1A' does not match", str(err))
        self.assertIn('properties.environment', str(err))

    def test_values_from_other_resources_are_not_judged_early(self):
        self.assertIsNone(self.validate([
            'environment: {A: {get_attr: [other, value]}}',
            'labels: {x: {get_resource: other}}']))


class LifecycleTest(PluginTestCase):
    def web(self):
        # resources hold their stack weakly: keep it alive
        self.stk = self.stack()
        return self.stk['web']

    def test_create_posts_the_properties_then_polls(self):
        self.session.answer('POST', '/v1/containers',
                            FakeResponse(202, {'resource': {
                                'id': 's1', 'action': 'CREATE',
                                'status': 'IN_PROGRESS',
                                'status_reason': ''}}))
        self.session.answer('GET', '/v1/containers/s1',
                            state('IN_PROGRESS'), state('COMPLETE'))
        web = self.web()
        scheduler.TaskRunner(web.create)()
        self.assertEqual((web.CREATE, web.COMPLETE), web.state)
        self.assertEqual('s1', web.resource_id)
        method, url, kw = self.session.requests[0]
        body = kw['json']
        self.assertEqual({'image': 'busybox', 'memory': 64,
                          'environment': {'GREETING': 'hi'},
                          'ports': [{'port': 8080, 'protocol': 'tcp'}],
                          'restart_policy': 'no'}, body['properties'])
        self.assertEqual(web.physical_resource_name(),
                         body['idempotency_key'])
        self.assertEqual('container-orchestration',
                         kw['endpoint_filter']['service_type'])
        self.assertEqual(3, len(self.session.requests))

    def test_a_failed_create_carries_the_reason(self):
        # (Heat would otherwise delete and retry the create: action_retry_limit)
        cfg.CONF.set_override('action_retry_limit', 0)
        self.session.answer('POST', '/v1/containers',
                            FakeResponse(202, {'resource': {
                                'id': 's1', 'action': 'CREATE',
                                'status': 'IN_PROGRESS',
                                'status_reason': ''}}))
        self.session.answer('GET', '/v1/containers/s1',
                            state('FAILED', reason='No valid host was found.'))
        web = self.web()
        err = self.assertRaises(exception.ResourceFailure,
                                scheduler.TaskRunner(web.create))
        self.assertIn('No valid host was found.', str(err))

    def test_a_refusal_carries_the_service_message(self):
        self.session.answer('POST', '/v1/containers', FakeResponse(403, {
            'error': {'code': 403, 'title': 'Forbidden', 'type': 'QuotaExceeded',
                      'message': 'Nova refused to create the server: Quota '
                                 'exceeded for instances'}}))
        web = self.web()
        err = self.assertRaises(exception.ResourceFailure,
                                scheduler.TaskRunner(web.create))
        self.assertIn('Quota exceeded for instances', str(err))
        self.assertIsNone(web.resource_id)

    def test_an_unreachable_service_fails_the_resource_only(self):
        self.session.answer('POST', '/v1/containers',
                            ks_exc.ConnectFailure('Connection refused'))
        web = self.web()
        err = self.assertRaises(exception.ResourceFailure,
                                scheduler.TaskRunner(web.create))
        self.assertIn('Berth heat-resources is unreachable', str(err))

    def test_update_delete_suspend_resume_and_attributes(self):
        web = self.web()
        web.resource_id_set('s1')
        web.state_set(web.CREATE, web.COMPLETE)
        self.session.answer('PATCH', '/v1/containers/s1',
                            state('IN_PROGRESS', 'UPDATE'))
        self.session.answer('GET', '/v1/containers/s1',
                            state('COMPLETE', 'UPDATE'))
        snippet = web.t.freeze(properties=dict(
            web.properties.data, environment={'GREETING': 'bonjour'}))
        scheduler.TaskRunner(web.update, snippet)()
        self.assertEqual((web.UPDATE, web.COMPLETE), web.state)
        patch = [r for r in self.session.requests if r[0] == 'PATCH'][0]
        self.assertEqual({'GREETING': 'bonjour'},
                         patch[2]['json']['properties']['environment'])

        self.session.answer('POST', '/v1/containers/s1/action',
                            state('IN_PROGRESS', 'SUSPEND'))
        self.session.answer('GET', '/v1/containers/s1',
                            state('COMPLETE', 'SUSPEND'))
        scheduler.TaskRunner(web.suspend)()
        self.assertEqual((web.SUSPEND, web.COMPLETE), web.state)

        self.session.answer('GET', '/v1/containers/s1/attributes/status',
                            FakeResponse(200, {'attribute': 'status',
                                               'value': 'ACTIVE'}))
        self.assertEqual('ACTIVE', web.FnGetAtt('status'))

        self.session.answer('DELETE', '/v1/containers/s1',
                            state('IN_PROGRESS', 'DELETE'))
        self.session.answer('GET', '/v1/containers/s1',
                            state('IN_PROGRESS', 'DELETE'),
                            FakeResponse(404, {'error': {'message': 'gone'}}))
        scheduler.TaskRunner(web.delete)()
        self.assertEqual((web.DELETE, web.COMPLETE), web.state)

    def test_a_never_created_resource_deletes_without_a_call(self):
        web = self.web()
        scheduler.TaskRunner(web.delete)()
        self.assertEqual([], self.session.requests)
