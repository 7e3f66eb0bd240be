// One folder per OpenStack service (glance/, nova/, neutron/), each a typed
// client over a keystone-client-ts session. Add one
// export line per service.
export * from './nova';
export * from './glance';
export * from './neutron';
