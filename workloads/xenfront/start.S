/*
 * Entry and Xen ELF notes of the independent frontend (xenfront.c), from
 * xen/elfnote.h alone. Xen enters a PV guest with %rsi = start_info and a
 * boot stack in %rsp; the hypercall page is filled by the domain builder
 * (XEN_ELFNOTE_HYPERCALL_PAGE names it), one 32-byte stub per call.
 */
#include <xen/elfnote.h>

#define NOTE(type, desc)                                                                           \
    .pushsection .note.Xen, "a", @note;                                                            \
    .balign 4;                                                                                     \
    .long 2f - 1f;                                                                                 \
    .long 4f - 3f;                                                                                 \
    .long type;                                                                                    \
1:  .asciz "Xen";                                                                                  \
2:  .balign 4;                                                                                     \
3:  desc;                                                                                          \
4:  .balign 4;                                                                                     \
    .popsection

    NOTE(XEN_ELFNOTE_GUEST_OS, .asciz "xenfront")
    NOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
    NOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
    NOTE(XEN_ELFNOTE_VIRT_BASE, .quad 0)
    NOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad 0)
    NOTE(XEN_ELFNOTE_ENTRY, .quad _start)
    NOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page)
    NOTE(XEN_ELFNOTE_FEATURES, .asciz "auto_translated_physmap|writable_page_tables")

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    cld
    movq %rsi, %rdi
    andq $-16, %rsp
    call xenfront_main
    ud2

    .section .text.hypercall_page, "ax", @progbits
    .balign 4096
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xcc

    .section .note.GNU-stack, "", @progbits
