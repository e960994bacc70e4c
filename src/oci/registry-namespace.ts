/**
 * The path component a source registry becomes inside a node registry (load pushes there, serve
 * answers there, hosts.toml points there): <node>/<namespace>/<repository>. Registry names are valid
 * path components as they are (registry.k8s.io, docker.io, quay.io); a port's ":" and IPv6
 * brackets are not, so "localhost:5000" becomes "localhost_5000".
 */
export function registryNamespace(sourceRegistry: string): string {
  return sourceRegistry.toLowerCase().replace(/^\[|\]/g, '').replace(/[^a-z0-9.-]+/g, '_').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}
