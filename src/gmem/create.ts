// KVM_CREATE_GUEST_MEMFD and mmap() of the file: which flags a VM may ask for, and the errno the
// kernel answers (virt/kvm/guest_memfd.c at 01f492e1817e: kvm_gmem_create, kvm_gmem_mmap,
// kvm_gmem_get_invalidate_filter; arch/x86/kvm/x86.c kvm_arch_supports_gmem_init_shared).
// A scenario's guest_memfd is created through kvmGmemCreate when it is validated, so a scenario
// the kernel would refuse never runs.
import { EINVAL, ENODEV } from '../errno.js';
import { GMEM_INODE_INIT_SHARED, GMEM_INODE_MMAP } from '../shm/layout.js';
import { attrsInGmem, type GmemFlag, type KernelBaseline, type VmType } from '../scenario/types.js';

/** The uAPI bits (include/uapi/linux/kvm.h). */
export const GUEST_MEMFD_FLAG_MMAP = 1n << 0n;
export const GUEST_MEMFD_FLAG_INIT_SHARED = 1n << 1n;

const FLAG_BITS: Record<GmemFlag, bigint> = { mmap: GUEST_MEMFD_FLAG_MMAP, init_shared: GUEST_MEMFD_FLAG_INIT_SHARED };
export const gmemFlagBits = (flags: readonly GmemFlag[]): bigint => flags.reduce((b, f) => b | FLAG_BITS[f], 0n);
export const gmemFlagNames = (bits: bigint): GmemFlag[] => (Object.keys(FLAG_BITS) as GmemFlag[]).filter((f) => (bits & FLAG_BITS[f]) !== 0n);

export { GMEM_INODE_INIT_SHARED, GMEM_INODE_MMAP } from '../shm/layout.js';

/** The VM a guest_memfd is created on, as the checks need it. */
export interface GmemVm {
  kernel: KernelBaseline;
  vmType: VmType;
}

// kvm_arch_has_private_mem (x86): SW_PROTECTED, SNP and TDX VMs have it; the default VM type does not
export const kvmArchHasPrivateMem = (vmType: VmType): boolean => vmType !== 'default';

// kvm_arch_supports_gmem_init_shared (x86, since 44c6cb9fe988): only a VM without private memory
const kvmArchSupportsGmemInitShared = (vmType: VmType): boolean => !kvmArchHasPrivateMem(vmType);

// kvm_gmem_get_supported_flags (since 6.18; 6.12 accepted no flag at all). A null VM is the
// system-wide KVM_CAP_GUEST_MEMFD_FLAGS query, which reports INIT_SHARED too.
export function kvmGmemGetSupportedFlags(kernel: KernelBaseline, vmType: VmType | null): bigint {
  if (kernel === '6.12') return 0n;
  let flags = GUEST_MEMFD_FLAG_MMAP;
  // "next" (the in-place conversion series): with the attributes in guest_memfd
  // (vm_memory_attributes = 0) any VM may start a file shared, and convert it in place
  if (vmType === null || attrsInGmem(kernel) || kvmArchSupportsGmemInitShared(vmType)) flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
  return flags;
}

// kvm_gmem_create: unknown or unsupported flags first, then the size; 0 or -errno
export function kvmGmemCreate(vm: GmemVm, size: number, flags: bigint): number {
  if ((flags & ~kvmGmemGetSupportedFlags(vm.kernel, vm.vmType)) !== 0n) return -EINVAL;
  if (size <= 0 || size % 4096 !== 0) return -EINVAL;
  return 0;
}

// kvm_gmem_mmap: 0, -ENODEV without GUEST_MEMFD_FLAG_MMAP, -EINVAL unless MAP_SHARED (no CoW mapping)
export function kvmGmemMmap(inodeFlags: number, mapShared: boolean): number {
  if ((inodeFlags & GMEM_INODE_MMAP) === 0) return -ENODEV;
  if (!mapShared) return -EINVAL;
  return 0;
}

/** enum kvm_gfn_range_filter */
export type KvmGfnRangeFilter = 'private' | 'shared';

// kvm_gmem_get_invalidate_filter: an INIT_SHARED file's pages are shared, the others private.
// On the VMs modelled (no mirrored TDP: not TDX) kvm_gfn_range_filter_to_root_types answers
// "direct roots" for either filter, so a gmem invalidation zaps every SPTE in range.
export const kvmGmemGetInvalidateFilter = (inodeFlags: number): KvmGfnRangeFilter => ((inodeFlags & GMEM_INODE_INIT_SHARED) !== 0 ? 'shared' : 'private');

/** Why kvm_gmem_create refuses `flags` on this VM, in words, or null if it accepts them. */
export function gmemCreateRefusal(vm: GmemVm, pages: number, flags: readonly GmemFlag[]): string | null {
  if (kvmGmemCreate(vm, pages * 4096, gmemFlagBits(flags)) === 0) return null;
  const supported = kvmGmemGetSupportedFlags(vm.kernel, vm.vmType);
  const bad = flags.find((f) => (FLAG_BITS[f] & supported) === 0n)!;
  const why =
    vm.kernel === '6.12'
      ? 'kernel 6.12 has no guest_memfd flags (GUEST_MEMFD_FLAG_MMAP and INIT_SHARED arrived in 6.18)'
      : `x86 allows INIT_SHARED only on a VM without private memory (kvm_arch_supports_gmem_init_shared), and a ${vm.vmType} VM has private memory: use vmType "default"`;
  return `EINVAL from KVM_CREATE_GUEST_MEMFD: "${bad}" is not supported here; ${why}`;
}
