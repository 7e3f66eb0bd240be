# Copyright Berth contributors. Licensed under the Apache License, Version 2.0.
"""A thin Nova virt driver: every ComputeDriver call becomes one oslo RPC call
to the Berth agent on this host (topic ``berth-agent``, server = CONF.host),
with plain JSON arguments. The agent owns all container logic and answers
failures as nova.exception classes, which oslo.messaging rebuilds here
natively. What stays in Python is what only nova-compute can do: waiting for
Neutron's network-vif-plugged events, Placement inventory, lifecycle events,
and disabling the host while the agent or dockerd is unreachable (as the
libvirt driver does when libvirtd goes away).
"""
import time

import eventlet
import os_resource_classes as orc
import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova.compute import task_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import fields as obj_fields
from nova import rpc
from nova.virt import driver
from nova.virt import event as virtevent
from nova.virt import hardware

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

berth_opts = [
    cfg.StrOpt('agent_topic', default='berth-agent',
               help='RPC topic of the Berth agent (queue <topic>.<host>)'),
    cfg.StrOpt('events_topic', default='berth-compute-events',
               help='RPC topic on which this driver receives the agent\'s '
                    'lifecycle events'),
    cfg.IntOpt('rpc_timeout', default=30,
               help='Seconds to wait for a short agent call'),
    cfg.IntOpt('long_rpc_timeout', default=900,
               help='Seconds a long operation (spawn, snapshot) may take'),
    cfg.IntOpt('call_monitor_timeout', default=20,
               help='Seconds without a heartbeat after which a long call is '
                    'considered lost (the agent died)'),
    cfg.IntOpt('agent_retry_timeout', default=120,
               help='How long a call waits for a restarted agent before '
                    'failing (all agent operations are idempotent)'),
    cfg.IntOpt('health_interval', default=10,
               help='Seconds between agent health checks; while the agent or '
                    'dockerd is unreachable the compute service is disabled'),
    cfg.FloatOpt('stopped_event_delay', default=5.0,
                 help='Seconds a "stopped" lifecycle event waits for a '
                      'following "started" (reboots) before Nova sees it'),
]
CONF.register_opts(berth_opts, group='berth')

DISABLE_PREFIX = 'AUTO: '
LONG_CALLS = ('spawn', 'snapshot', 'destroy', 'reboot', 'power_off', 'power_on')
EVENTS = {
    'started': virtevent.EVENT_LIFECYCLE_STARTED,
    'stopped': virtevent.EVENT_LIFECYCLE_STOPPED,
    'paused': virtevent.EVENT_LIFECYCLE_PAUSED,
    'resumed': virtevent.EVENT_LIFECYCLE_RESUMED,
}


def _instance(instance):
    """The instance as the agent sees it: plain JSON, no Nova objects."""
    flavor = instance.flavor
    return {
        'uuid': instance.uuid,
        'name': instance.name,
        'hostname': instance.hostname,
        'display_name': instance.display_name,
        'project_id': instance.project_id,
        'user_id': instance.user_id,
        'flavor': {
            'name': flavor.name,
            'vcpus': flavor.vcpus,
            'memory_mb': flavor.memory_mb,
            'root_gb': flavor.root_gb,
            'ephemeral_gb': flavor.ephemeral_gb,
            'extra_specs': dict(flavor.extra_specs or {}),
        },
        'user_data': instance.user_data,
        'metadata': dict(instance.metadata or {}),
    }


def _image(instance, image_meta):
    """Image fields plus every image property (ImageMetaProps drops unknown
    ones; Nova keeps them all in system_metadata as image_<key>)."""
    def field(name):
        return getattr(image_meta, name) if image_meta.obj_attr_is_set(name) else None

    props = {k[len('image_'):]: v for k, v in instance.system_metadata.items()
             if k.startswith('image_')}
    return {
        'id': field('id'),
        'name': field('name'),
        'container_format': field('container_format') or props.get('container_format'),
        'disk_format': field('disk_format') or props.get('disk_format'),
        'size': field('size'),
        'checksum': field('checksum'),
        'properties': props,
    }


def _network_info(network_info):
    return jsonutils.loads(network_info.json()) if network_info else []


class _EventEndpoint(object):
    """Receives the agent's lifecycle events (casts)."""
    target = messaging.Target(version='1.0')

    def __init__(self, driver):
        self._driver = driver

    def lifecycle_event(self, context, instance_uuid, event):
        self._driver._queue_event(instance_uuid, event)


class BerthDriver(driver.ComputeDriver):
    capabilities = dict(driver.ComputeDriver.capabilities,
                        supports_image_type_raw=True,
                        supports_attach_interface=True)

    def __init__(self, virtapi):
        super(BerthDriver, self).__init__(virtapi)
        self._client = None
        self._events_server = None
        self._pending_stops = {}
        self._resources = None
        self._healthy = None

    # -- RPC -----------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            target = messaging.Target(topic=CONF.berth.agent_topic,
                                      server=CONF.host, version='1.0')
            self._client = rpc.get_client(target)
        return self._client

    def _call(self, context, method, retry=True, **kwargs):
        """One agent call. Long operations send call-monitor heartbeats, so a
        dead agent is noticed in call_monitor_timeout seconds; after a timeout
        the call is repeated once the agent answers again (every agent
        operation is idempotent), up to agent_retry_timeout."""
        long_call = method in LONG_CALLS
        cctxt = self.client.prepare(
            timeout=CONF.berth.long_rpc_timeout if long_call else CONF.berth.rpc_timeout,
            call_monitor_timeout=CONF.berth.call_monitor_timeout if long_call else None)
        deadline = time.monotonic() + CONF.berth.agent_retry_timeout
        while True:
            try:
                return cctxt.call(context, method, **kwargs)
            except messaging.MessagingTimeout:
                if not retry or time.monotonic() > deadline:
                    LOG.error('Berth agent on %s did not answer %s', CONF.host, method)
                    raise exception.HypervisorUnavailable()
                LOG.warning('Berth agent did not answer %s; retrying when it is back', method)
                self._wait_for_agent(deadline)

    def _wait_for_agent(self, deadline):
        while time.monotonic() < deadline:
            if self._ping() is not None:
                return
            eventlet.sleep(2)

    def _ping(self):
        try:
            cctxt = self.client.prepare(timeout=5)
            return cctxt.call(nova_context.get_admin_context(), 'ping')
        except Exception:
            return None

    def _admin_call(self, method, **kwargs):
        return self._call(nova_context.get_admin_context(), method, **kwargs)

    # -- host ----------------------------------------------------------

    def init_host(self, host):
        # agent-to-driver events: <events_topic>.<host>
        target = messaging.Target(topic=CONF.berth.events_topic, server=CONF.host)
        self._events_server = rpc.get_server(target, [_EventEndpoint(self)])
        self._events_server.start()
        eventlet.spawn(self._health_loop)
        if self._ping() is None:
            # do not fail nova-compute's start: the health loop disables the
            # host until the agent answers
            LOG.warning('Berth agent on %s is not answering yet', host)

    def cleanup_host(self, host):
        if self._events_server:
            self._events_server.stop()
            self._events_server.wait()

    def _health_loop(self):
        while True:
            answer = self._ping()
            if answer is None:
                self._set_healthy(False, 'Berth agent unreachable')
            elif not answer.get('docker', {}).get('ok'):
                self._set_healthy(False, 'dockerd unreachable: %s' % answer['docker'].get('error'))
            else:
                self._set_healthy(True)
            eventlet.sleep(CONF.berth.health_interval)

    def _set_healthy(self, healthy, reason=None):
        if healthy == self._healthy:
            return
        ctx = nova_context.get_admin_context()
        try:
            service = objects.Service.get_by_compute_host(ctx, CONF.host)
        except exception.ComputeHostNotFound:
            return  # not registered yet: the next round tries again
        except Exception:
            LOG.warning('Cannot read the compute service of %s', CONF.host, exc_info=True)
            return
        # never re-enable a host an operator disabled by hand
        if healthy and service.disabled and not (service.disabled_reason or '').startswith(DISABLE_PREFIX):
            self._healthy = healthy
            return
        if service.disabled == (not healthy):
            self._healthy = healthy
            return
        service.disabled = not healthy
        service.disabled_reason = None if healthy else DISABLE_PREFIX + reason
        service.save()
        self._healthy = healthy
        LOG.warning('Compute service %s %s%s', CONF.host,
                    'enabled' if healthy else 'disabled',
                    '' if healthy else ': ' + reason)
        try:
            self.virtapi.update_compute_provider_status(ctx, service.compute_node.uuid,
                                                        enabled=healthy)
        except Exception:
            LOG.warning('Could not update COMPUTE_STATUS_DISABLED in Placement', exc_info=True)

    def get_available_nodes(self, refresh=False):
        return [CONF.host]

    def _host_resources(self):
        try:
            self._resources = self._admin_call('get_host_resources', retry=False)
        except exception.HypervisorUnavailable:
            if self._resources is None:
                raise
            LOG.warning('Berth agent unreachable: reporting its last known resources')
        return self._resources

    def get_available_resource(self, nodename):
        r = self._host_resources()
        return {
            'vcpus': r['vcpus'],
            'memory_mb': r['memory_mb'],
            'local_gb': r['local_gb'],
            'vcpus_used': 0,
            'memory_mb_used': 0,
            'local_gb_used': max(0, r['local_gb'] - r['disk_available_least']),
            'hypervisor_type': obj_fields.HVType.DOCKER,
            'hypervisor_version': r['hypervisor_version'],
            'hypervisor_hostname': nodename,
            'cpu_info': jsonutils.dumps(r['cpu_info']),
            'disk_available_least': r['disk_available_least'],
            'supported_instances': [(obj_fields.Architecture.from_host(),
                                     obj_fields.HVType.DOCKER,
                                     obj_fields.VMMode.EXE)],
            'numa_topology': None,
        }

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        r = self._resources or self._host_resources()
        ratios = self._get_allocation_ratios(provider_tree.data(nodename).inventory)
        reserved = r['reserved']

        def inv(rc, total, reserved_amount):
            return {'total': total, 'min_unit': 1, 'max_unit': total, 'step_size': 1,
                    'allocation_ratio': ratios[rc], 'reserved': reserved_amount}

        provider_tree.update_inventory(nodename, {
            orc.VCPU: inv(orc.VCPU, r['vcpus'], reserved['vcpus']),
            orc.MEMORY_MB: inv(orc.MEMORY_MB, r['memory_mb'], reserved['memory_mb']),
            orc.DISK_GB: inv(orc.DISK_GB, r['local_gb'], reserved['disk_gb']),
        })

    def get_host_uptime(self):
        return self._admin_call('get_host_uptime')

    def get_host_ip_addr(self):
        return CONF.my_ip

    # -- instances ------------------------------------------------------

    def list_instances(self):
        return [i['name'] for i in self._admin_call('list_instances')]

    def list_instance_uuids(self):
        return [i['uuid'] for i in self._admin_call('list_instances')]

    def get_info(self, instance, use_cache=True):
        r = self._admin_call('get_info', instance_uuid=instance.uuid)
        return hardware.InstanceInfo(state=r['power_state'])

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        # as libvirt: wire the ports with the workload not yet running, wait
        # until Neutron reports them plugged (its agent has applied the
        # security groups), then start it
        events = self._vif_events(network_info)
        try:
            with self.virtapi.wait_for_instance_event(
                    instance, events, deadline=CONF.vif_plugging_timeout,
                    error_callback=self._neutron_failed_callback):
                self._call(context, 'spawn', instance=_instance(instance),
                           image=_image(instance, image_meta),
                           network_info=_network_info(network_info),
                           power_on=power_on and not events)
        except eventlet.timeout.Timeout:
            LOG.warning('Timeout waiting for %s for instance', events, instance=instance)
            if CONF.vif_plugging_is_fatal:
                self.destroy(context, instance, network_info)
                raise exception.VirtualInterfaceCreateException()
        except exception.VirtualInterfaceCreateException:
            self.destroy(context, instance, network_info)
            raise
        if events and power_on:
            self._call(context, 'power_on', instance_uuid=instance.uuid)

    @staticmethod
    def _vif_events(network_info):
        if not network_info or not CONF.vif_plugging_timeout:
            return []
        return [('network-vif-plugged', vif['id'])
                for vif in network_info if vif.get('active', True) is False]

    @staticmethod
    def _neutron_failed_callback(event_name, instance):
        LOG.error('Neutron reported failure on event %s', event_name, instance=instance)
        if CONF.vif_plugging_is_fatal:
            raise exception.VirtualInterfaceCreateException()

    def plug_vifs(self, instance, network_info):
        self._admin_call('plug_vifs', instance_uuid=instance.uuid,
                         network_info=_network_info(network_info))

    def unplug_vifs(self, instance, network_info):
        self._admin_call('unplug_vifs', instance_uuid=instance.uuid,
                         network_info=_network_info(network_info))

    def attach_interface(self, context, instance, image_meta, vif):
        self._call(context, 'attach_interface', instance_uuid=instance.uuid,
                   vif=jsonutils.loads(jsonutils.dumps(vif)))

    def detach_interface(self, context, instance, vif):
        self._call(context, 'detach_interface', instance_uuid=instance.uuid,
                   vif=jsonutils.loads(jsonutils.dumps(vif)))

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        self._call(context, 'destroy', instance_uuid=instance.uuid,
                   network_info=_network_info(network_info))

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        self.destroy(context, instance, network_info)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None):
        self._call(context, 'reboot', instance_uuid=instance.uuid, reboot_type=reboot_type)

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._admin_call('power_off', instance_uuid=instance.uuid, timeout=timeout)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None):
        self._call(context, 'power_on', instance_uuid=instance.uuid)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  block_device_info=None):
        self.power_on(context, instance, network_info)

    def pause(self, instance):
        self._admin_call('pause', instance_uuid=instance.uuid)

    def unpause(self, instance):
        self._admin_call('unpause', instance_uuid=instance.uuid)

    def suspend(self, context, instance):
        self._call(context, 'suspend', instance_uuid=instance.uuid)

    def resume(self, context, instance, network_info, block_device_info=None):
        self._call(context, 'resume', instance_uuid=instance.uuid)

    def get_console_output(self, context, instance):
        return self._call(context, 'get_console_output', instance_uuid=instance.uuid)

    def snapshot(self, context, instance, image_id, update_task_state):
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        self._call(context, 'snapshot', instance_uuid=instance.uuid, image_id=image_id)

    # -- lifecycle events ----------------------------------------------

    def _queue_event(self, uuid, name):
        transition = EVENTS.get(name)
        if transition is None:
            return
        pending = self._pending_stops.pop(uuid, None)
        if pending is not None:
            pending.cancel()
        if transition == virtevent.EVENT_LIFECYCLE_STOPPED:
            # a reboot is a stop then a start: only a stop that lasts is news
            self._pending_stops[uuid] = eventlet.spawn_after(
                CONF.berth.stopped_event_delay, self._emit, uuid, transition)
        else:
            self._emit(uuid, transition)

    def _emit(self, uuid, transition):
        self._pending_stops.pop(uuid, None)
        self.emit_event(virtevent.LifecycleEvent(uuid, transition))

