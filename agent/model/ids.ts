/** Identifiers of the domain: nominal types over strings and numbers. Types only. */
declare const brand: unique symbol;

/** A nominal type: a string or number that cannot be swapped for another of the same base. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A network interface name as the kernel reports it (IFNAMSIZ, at most 15 bytes). */
export type IfName = Brand<string, 'IfName'>;

/** A PCI address in sysfs form, `0000:3b:00.0`. */
export type PciAddress = Brand<string, 'PciAddress'>;

/** A kernel interface index, unique within one network namespace. */
export type IfIndex = Brand<number, 'IfIndex'>;

/** A network namespace id as seen from the namespace that asks (`IFLA_LINK_NETNSID`). */
export type NetnsId = Brand<number, 'NetnsId'>;
/** A Kubernetes pod UID (`metadata.uid`), lowercase with dashes. */
export type PodUid = string & { readonly __brand: 'PodUid' };
