/**
 * The one way a series names a network (docs/metrics.md, "Label model"): `network_namespace` is
 * the NetworkAttachmentDefinition's namespace and `network` its name, on every family that names
 * one, so joins line up across families and two NADs of the same name in two namespaces never
 * merge. Both are '' where no NAD is known.
 */

/** `{network_namespace, network}` of a NAD reference written `namespace/name` ('' halves when it has no slash or is ''). */
export function networkLabels(ref: string): { network_namespace: string; network: string } {
  const slash = ref.indexOf('/');
  return slash < 0 ? { network_namespace: '', network: ref } : { network_namespace: ref.slice(0, slash), network: ref.slice(slash + 1) };
}
