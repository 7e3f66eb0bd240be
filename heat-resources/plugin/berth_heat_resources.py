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

"""Berth's resource types for heat-engine (OS::Container::*).

One generic module for heat-engine's ``plugin_dirs``. It knows no resource
type: it builds one resource class per entry of the type schema the Berth
heat-resources service publishes (properties with their types, constraints,
defaults and update_allowed; attributes; cross-property rules), and each
class forwards every hook to that service over REST with the user's
Keystone session (``self.context.keystone_session``, a trust-scoped token
when Heat acts on a stored stack).

It must never take heat-engine down, so:

- nothing is fetched over the network at import: the schema comes from a
  file (``[berth_heat_resources] types_file``, written by the service and
  installed by devstack), with a copy of the last good one
  (``cache_file``) used when the file is missing or broken;
- every failure while building the types is logged and the types that can
  be built are registered (none at worst);
- a service that is down or refuses fails the resource (with the reason),
  never the engine.

Only the standard library, oslo and heat are imported (jsonschema, a Heat
dependency through glanceclient, is used when present).
"""

import json
import os
import tempfile

from keystoneauth1 import exceptions as ks_exc
from oslo_config import cfg
from oslo_log import log as logging

from heat.common import exception
from heat.engine import attributes
from heat.engine import constraints
from heat.engine import function
from heat.engine import properties
from heat.engine import resource

try:  # deeper property checks at stack validation when available
    import jsonschema
except ImportError:  # pragma: no cover - Heat's dependencies bring it
    jsonschema = None

LOG = logging.getLogger(__name__)

FORMAT = 'berth-heat-resource-types/1'

OPTS = [
    cfg.StrOpt('types_file', default='/etc/heat/berth/resource-types.json',
               help='The type schema the Berth heat-resources service '
                    'publishes (GET /v1/resource_types), read at engine '
                    'start.'),
    cfg.StrOpt('cache_file',
               default='/var/lib/heat/berth-resource-types.cache.json',
               help='Copy of the last types_file that loaded; used when '
                    'types_file is missing or broken.'),
    cfg.StrOpt('service_type', default=None,
               help='Catalog type of the service (default: the one the '
                    'type schema names, container-orchestration).'),
    cfg.StrOpt('interface', default='public',
               help='Catalog interface of the service.'),
    cfg.StrOpt('region_name', default=None,
               help='Region of the service (default: Heat\'s '
                    'region_name_for_services).'),
    cfg.StrOpt('endpoint_override', default=None,
               help='Base URL of the service instead of the catalog.'),
    cfg.IntOpt('timeout', default=30, min=1,
               help='Seconds to wait for each answer of the service.'),
]
try:
    cfg.CONF.register_opts(OPTS, group='berth_heat_resources')
except cfg.DuplicateOptError:  # pragma: no cover - module imported twice
    pass

_CONSTRAINTS = {
    'allowed_values': lambda v: constraints.AllowedValues(v),
    'range': lambda v: constraints.Range(min=v.get('min'), max=v.get('max')),
    'length': lambda v: constraints.Length(min=v.get('min'),
                                           max=v.get('max')),
    'allowed_pattern': lambda v: constraints.AllowedPattern(v),
    'custom_constraint': lambda v: constraints.CustomConstraint(v),
}


def _property_schema(spec):
    """A heat properties.Schema from one published property."""
    nested = None
    if spec.get('schema') is not None:
        if spec['type'] == 'List':
            nested = _property_schema(spec['schema'])
        elif spec['type'] == 'Map':
            nested = dict((k, _property_schema(v))
                          for k, v in spec['schema'].items())
    cons = []
    for c in spec.get('constraints', []):
        (kind, value), = c.items()
        cons.append(_CONSTRAINTS[kind](value))
    kwargs = dict(description=spec.get('description'),
                  required=bool(spec.get('required')),
                  update_allowed=bool(spec.get('update_allowed')),
                  constraints=cons, schema=nested)
    if 'default' in spec:
        kwargs['default'] = spec['default']
    return properties.Schema(spec['type'], **kwargs)


def _strip_none(value):
    """Unset values Heat fills in as None are left out of what we send."""
    if isinstance(value, dict):
        return dict((k, _strip_none(v)) for k, v in value.items()
                    if v is not None)
    if isinstance(value, list):
        return [_strip_none(v) for v in value if v is not None]
    return value


class BerthResource(resource.Resource):
    """Base of the generated classes: every hook is one REST call."""

    api_path = None
    rules = ()
    json_schema = None
    types_version = None
    default_service_type = 'container-orchestration'
    _warned_version = set()

    # -- REST ---------------------------------------------------------

    def _request(self, method, sub='', body=None, allow_404=False):
        conf = cfg.CONF.berth_heat_resources
        url = self.api_path + sub
        kwargs = dict(raise_exc=False, timeout=conf.timeout,
                      connect_retries=1)
        if body is not None:
            kwargs['json'] = body
        request_id = getattr(self.context, 'request_id', None)
        if request_id:
            kwargs['global_request_id'] = request_id
        if conf.endpoint_override:
            kwargs['endpoint_override'] = conf.endpoint_override.rstrip('/')
        kwargs['endpoint_filter'] = dict(
            service_type=conf.service_type or self.default_service_type,
            interface=conf.interface,
            region_name=(conf.region_name or
                         cfg.CONF.region_name_for_services))
        session = self.context.keystone_session
        try:
            resp = session.request(url, method, **kwargs)
        except ks_exc.EndpointNotFound:
            raise exception.Error(
                'Berth heat-resources (%s) is not in the service catalog' %
                kwargs['endpoint_filter']['service_type'])
        except (ks_exc.ConnectionError, ks_exc.RequestTimeout) as e:
            raise exception.Error(
                'Berth heat-resources is unreachable (%s %s): %s' %
                (method, url, e))
        self._check_version(resp.headers.get('X-Berth-Resource-Types'))
        if resp.status_code == 404 and allow_404:
            return None
        try:
            data = resp.json() if resp.content else {}
        except ValueError:
            data = {}
        if resp.status_code >= 400:
            err = data.get('error') if isinstance(data, dict) else None
            message = (err or {}).get('message') or resp.text[:500]
            raise exception.Error('%s (HTTP %s from Berth heat-resources)' %
                                  (message, resp.status_code))
        return data

    def _check_version(self, version):
        if (version and self.types_version and
                version != self.types_version and
                version not in self._warned_version):
            self._warned_version.add(version)
            LOG.warning('Berth heat-resources publishes resource types %s '
                        'but heat-engine loaded %s: install the new types '
                        'file and restart heat-engine', version,
                        self.types_version)

    def _state(self):
        return self._request('GET', '/%s' % self.resource_id,
                             allow_404=True)

    def _done(self, action):
        data = self._state()
        if data is None:
            raise exception.ResourceInError(
                resource_status='%s_FAILED' % action,
                status_reason='the resource is gone')
        res = data['resource']
        if res['status'] == 'FAILED':
            raise exception.ResourceInError(
                resource_status='%s_FAILED' % res['action'],
                status_reason=res['status_reason'])
        return res['status'] == 'COMPLETE'

    def _body_properties(self, props):
        return _strip_none(dict((k, props[k]) for k in self.properties_schema
                                if props[k] is not None))

    # -- validation ---------------------------------------------------

    def validate(self):
        super(BerthResource, self).validate()
        for rule in self.rules:
            given = [k for k in rule['exclusive']
                     if self.properties.get(k) is not None]
            if len(given) > 1:
                raise exception.StackValidationFailed(
                    error='Property error',
                    path=[self.stack.t.RESOURCES, self.name,
                          self.stack.t.get_section_name('properties')],
                    message=rule['message'])
        if jsonschema is None or not self.json_schema:
            return
        props = self.json_schema.get('properties', {})
        for name, schema in props.items():
            value = self.properties.get(name)
            if value is None or self._depends_on_resources(name):
                continue
            try:
                jsonschema.validate(_strip_none(value), schema)
            except jsonschema.ValidationError as e:
                where = ''.join('[%r]' % p for p in e.absolute_path)
                raise exception.StackValidationFailed(
                    error='Property error',
                    path=[self.stack.t.RESOURCES, self.name,
                          self.stack.t.get_section_name('properties'),
                          name + where],
                    message=e.message)

    def _depends_on_resources(self, name):
        """Values from other resources are unknown at validation."""
        try:
            raw = (self.t._properties or {}).get(name)
            return any(True for _ in function.dependencies(raw))
        except Exception:
            return True

    # -- lifecycle ----------------------------------------------------

    def handle_create(self):
        name = self.physical_resource_name()
        data = self._request('POST', body={
            'properties': self._body_properties(self.properties),
            'physical_name': name,
            'idempotency_key': name,
            'stack_id': self.stack.id,
            'resource_name': self.name,
        })
        self.resource_id_set(data['resource']['id'])
        return data['resource']['id']

    def check_create_complete(self, resource_id):
        return self._done('CREATE')

    def handle_update(self, json_snippet, tmpl_diff, prop_diff):
        if not prop_diff:
            return None
        new = json_snippet.properties(self.properties_schema, self.context)
        self._request('PATCH', '/%s' % self.resource_id,
                      body={'properties': self._body_properties(new)})
        return True

    def check_update_complete(self, updating):
        return True if not updating else self._done('UPDATE')

    def handle_delete(self):
        if self.resource_id is None:
            return None
        found = self._request('DELETE', '/%s' % self.resource_id,
                              allow_404=True)
        return self.resource_id if found is not None else None

    def check_delete_complete(self, deleting):
        if not deleting:
            return True
        data = self._state()
        if data is None:
            return True
        res = data['resource']
        if res['status'] == 'FAILED':
            raise exception.ResourceInError(
                resource_status='DELETE_FAILED',
                status_reason=res['status_reason'])
        return False

    def _action(self, name):
        if self.resource_id is None:
            return None
        self._request('POST', '/%s/action' % self.resource_id,
                      body={name: None})
        return True

    def handle_suspend(self):
        return self._action('suspend')

    def check_suspend_complete(self, acting):
        return True if not acting else self._done('SUSPEND')

    def handle_resume(self):
        return self._action('resume')

    def check_resume_complete(self, acting):
        return True if not acting else self._done('RESUME')

    def handle_check(self):
        if self.resource_id is None:
            raise exception.Error('the resource was never created')
        data = self._request('POST', '/%s/action' % self.resource_id,
                             body={'check': None})
        res = data['resource']
        if res['status'] != 'COMPLETE':
            raise exception.Error(res['status_reason'])

    # -- attributes ---------------------------------------------------

    def _attribute(self, name):
        if self.resource_id is None:
            return None
        data = self._request(
            'GET', '/%s/attributes/%s' % (self.resource_id, name),
            allow_404=True)
        return None if data is None else data.get('value')

    def _resolve_attribute(self, name):
        return self._attribute(name)

    def _show_resource(self):
        return self._attribute('show')


def _make_class(type_name, spec, version):
    attrs = dict(
        __doc__=spec.get('description') or type_name,
        api_path=spec['path'],
        rules=tuple(spec.get('rules', ())),
        json_schema=spec.get('json_schema'),
        types_version=version,
        properties_schema=dict(
            (k, _property_schema(v))
            for k, v in spec['properties'].items()),
        # `show` is Heat's own base attribute (answered by _show_resource)
        attributes_schema=dict(
            (k, attributes.Schema(v.get('description'), type=v.get('type')))
            for k, v in spec.get('attributes', {}).items() if k != 'show'),
    )
    cls = type(str(type_name.replace('::', '')), (BerthResource,), attrs)
    cls.__module__ = __name__
    return cls


def load_types(path):
    """The type schema at path and its classes: (data, {type: class}).

    A type that cannot be built is logged and left out; a file that is not
    a type schema at all raises.
    """
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise ValueError('%s is not a %s document' % (path, FORMAT))
    classes = {}
    for type_name, spec in data['resource_types'].items():
        try:
            cls = _make_class(type_name, spec, data.get('version'))
            if data.get('service_type'):
                cls.default_service_type = data['service_type']
            classes[type_name] = cls
        except Exception:
            LOG.exception('Berth resource type %s could not be built from %s;'
                          ' it is not registered', type_name, path)
    return data, classes


def _save_cache(data, path):
    try:
        directory = os.path.dirname(path) or '.'
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.berth-types-')
        with os.fdopen(fd, 'w') as f:
            json.dump(data, f)
        os.rename(tmp, path)
    except Exception as e:
        LOG.warning('could not keep a copy of the Berth resource types in '
                    '%s: %s', path, e)


def available_resource_mapping():
    """heat-engine's entry point: {type name: class}; never raises."""
    try:
        conf = cfg.CONF.berth_heat_resources
        for path, is_cache in ((conf.types_file, False),
                               (conf.cache_file, True)):
            if not path:
                continue
            try:
                data, classes = load_types(path)
            except Exception as e:
                LOG.error('Berth resource types: cannot use %s: %s', path, e)
                continue
            if not classes:
                continue
            if is_cache:
                LOG.warning('Berth resource types loaded from the cached copy'
                            ' %s (version %s)', path, data.get('version'))
            else:
                _save_cache(data, conf.cache_file)
                LOG.info('Berth resource types %s loaded from %s (version '
                         '%s)', ', '.join(sorted(classes)), path,
                         data.get('version'))
            return classes
        LOG.error('Berth resource types: no usable type schema; '
                  'OS::Container::* types are not registered')
    except Exception:
        LOG.exception('Berth resource types: not registered')
    return {}
