import { ServiceCatalog } from './catalog';
import { EndpointNotFoundError } from './errors';
import { SAMPLE_CATALOG } from './testing/fake-http';

describe('ServiceCatalog', () => {
  const catalog = new ServiceCatalog(SAMPLE_CATALOG);

  it('defaults to the public interface and strips the trailing slash', () => {
    expect(catalog.url({ type: 'compute' })).toBe('http://nova.example/v2.1');
  });

  it('filters by interface (also in publicURL form) and region', () => {
    expect(catalog.url({ type: 'compute', interface: 'internal' })).toBe('http://nova.internal/v2.1');
    expect(catalog.url({ type: 'compute', region: 'RegionTwo' })).toBe('http://nova.two/v2.1');
    expect(catalog.endpoints({ type: 'compute', interface: 'publicURL' as 'public' })).toHaveLength(2);
  });

  it('filters by service name', () => {
    expect(catalog.url({ type: 'image', name: 'glance' })).toBe('http://glance.example');
    expect(() => catalog.url({ type: 'image', name: 'other' })).toThrow(EndpointNotFoundError);
  });

  it('throws EndpointNotFoundError naming the filter', () => {
    expect(() => catalog.url({ type: 'container-infra' })).toThrow(/type=container-infra, interface=public/);
    expect(() => catalog.url({ type: 'image', interface: 'admin' })).toThrow(EndpointNotFoundError);
    expect(() => catalog.url({ type: 'compute', region: 'RegionThree' })).toThrow(/region=RegionThree/);
  });
});
