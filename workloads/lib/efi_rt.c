/*
 * The EFI runtime services a runtime image does not implement.
 *
 * When the firmware model (firmware-model/efirt.c, driven by
 * load_runtime_image in sim/domain.c) builds the EFI_RUNTIME_SERVICES
 * table for an image booted from flash, service N points at the image's
 * function efi_rt_<service> (efi_rt_get_time, ... efi_rt_query_variable_info:
 * efi_rt_service_symbol() in firmware-model/efirt.h) when the image defines
 * one, and at efi_rt_unsupported otherwise: every service the image lacks
 * answers EFI_UNSUPPORTED, as UEFI 2.10 lets a platform answer a runtime
 * service it does not support at runtime.
 *
 * Runtime services use the Microsoft x64 calling convention (EFIAPI). This
 * function reads none of its arguments and only writes RAX, so it is correct
 * for any of the 14 prototypes.
 *
 * The guest runtime is a static library: the linker keeps this file in an
 * image only if something references efi_rt_unsupported, so cmake/guest.cmake
 * links every guest image with --require-defined=efi_rt_unsupported (any
 * image may be placed in flash as the runtime service).
 */
#define EFI_UNSUPPORTED 0x8000000000000003ul

unsigned long __attribute__((ms_abi)) efi_rt_unsupported(void);

unsigned long __attribute__((ms_abi)) efi_rt_unsupported(void)
{
    return EFI_UNSUPPORTED;
}
