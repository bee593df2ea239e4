/*
 * Guest entry, the hypercall page, the event callback and the Xen ELF
 * notes.
 *
 * Entry (as the simulator starts a PV guest): 64-bit mode, flat segments,
 * identity addressing, %rsi = start_info, %rsp = top of the 64 KiB boot
 * stack the builder placed after the image. We move to our own stack in
 * .bss (so the boot stack's frames are not needed afterwards) and call
 * guest_start(start_info, boot_rsp). .bss needs no clearing: the
 * simulator zeroes domain memory before loading the image.
 *
 * hypercall_page: one zeroed, page-aligned page in .text; the simulator
 * writes Xen's stubs into it (XEN_ELFNOTE_HYPERCALL_PAGE names it).
 *
 * hypervisor_callback: the event upcall, entered with Xen's x86-64 bounce
 * frame [rcx, r11, rip, cs, rflags, rsp, ss] at %rsp and upcalls masked.
 * It restores %rcx/%r11, saves the caller-saved registers (general and
 * SSE, since any C code may use %xmm), runs do_hypervisor_callback() on a
 * 16-byte aligned stack, and returns through HYPERVISOR_iret (flags 0),
 * which restores the interrupted context and the upcall mask.
 */
#define __ASSEMBLY__
#include <xen/xen.h>
#include <xen/elfnote.h>

#define RUNTIME_STACK_SIZE (128 * 1024)

/* A Xen ELF note: name "Xen", type, descriptor. */
#define ELFNOTE(type, desc)                                                                        \
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

    ELFNOTE(XEN_ELFNOTE_GUEST_OS, .asciz "hopsim")
    ELFNOTE(XEN_ELFNOTE_GUEST_VERSION, .asciz "0.1")
    ELFNOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
    ELFNOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
    ELFNOTE(XEN_ELFNOTE_VIRT_BASE, .quad 0)
    ELFNOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad 0)
    ELFNOTE(XEN_ELFNOTE_ENTRY, .quad _start)
    ELFNOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad hypercall_page)
    ELFNOTE(XEN_ELFNOTE_FEATURES, .asciz "auto_translated_physmap")

    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    cld
    movq %rsp, %rax
    leaq runtime_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    movq %rsi, %rdi             /* start_info_t * */
    movq %rax, %rsi             /* boot stack top */
    call guest_start
    /* guest_start does not return; if it did, fault (the domain dies). */
    ud2
1:  jmp 1b
    .size _start, . - _start

    .section .text.hypercall_page, "ax", @progbits
    .balign 4096
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill 4096, 1, 0
    .size hypercall_page, 4096

    .text
    .globl hypervisor_callback
    .type hypervisor_callback, @function
hypervisor_callback:
    popq %rcx
    popq %r11
    /* %rsp = frame top - 40 (frame top is 16-aligned): 9 pushes realign it. */
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    subq $256, %rsp
    movaps %xmm0, 0x00(%rsp)
    movaps %xmm1, 0x10(%rsp)
    movaps %xmm2, 0x20(%rsp)
    movaps %xmm3, 0x30(%rsp)
    movaps %xmm4, 0x40(%rsp)
    movaps %xmm5, 0x50(%rsp)
    movaps %xmm6, 0x60(%rsp)
    movaps %xmm7, 0x70(%rsp)
    movaps %xmm8, 0x80(%rsp)
    movaps %xmm9, 0x90(%rsp)
    movaps %xmm10, 0xa0(%rsp)
    movaps %xmm11, 0xb0(%rsp)
    movaps %xmm12, 0xc0(%rsp)
    movaps %xmm13, 0xd0(%rsp)
    movaps %xmm14, 0xe0(%rsp)
    movaps %xmm15, 0xf0(%rsp)
    cld
    call do_hypervisor_callback
    movaps 0x00(%rsp), %xmm0
    movaps 0x10(%rsp), %xmm1
    movaps 0x20(%rsp), %xmm2
    movaps 0x30(%rsp), %xmm3
    movaps 0x40(%rsp), %xmm4
    movaps 0x50(%rsp), %xmm5
    movaps 0x60(%rsp), %xmm6
    movaps 0x70(%rsp), %xmm7
    movaps 0x80(%rsp), %xmm8
    movaps 0x90(%rsp), %xmm9
    movaps 0xa0(%rsp), %xmm10
    movaps 0xb0(%rsp), %xmm11
    movaps 0xc0(%rsp), %xmm12
    movaps 0xd0(%rsp), %xmm13
    movaps 0xe0(%rsp), %xmm14
    movaps 0xf0(%rsp), %xmm15
    addq $256, %rsp
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    /* Stack: [rip, cs, rflags, rsp, ss]; the iret stub pushes rcx, r11, rax. */
    pushq $0
    jmp hypercall_page + (__HYPERVISOR_iret * 32)
    .size hypervisor_callback, . - hypervisor_callback

    /* aligned to its size: smp.h finds the vCPU id at the stack's base (0 here) */
    .section .bss.runtime_stack, "aw", @nobits
    .balign RUNTIME_STACK_SIZE
    .globl runtime_stack, runtime_stack_top
runtime_stack:
    .skip RUNTIME_STACK_SIZE
runtime_stack_top:

    .section .note.GNU-stack, "", @progbits
