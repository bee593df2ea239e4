/*
 * privop: a PV guest kernel executing one privileged instruction (arg op).
 * In x86-64 PV the kernel runs in ring 3, so the CPU raises #GP and, with no
 * trap table registered, Xen crashes the domain: the simulator must do the
 * same and name the instruction (tests/scenario/privop.sh). If the
 * instruction ran, the guest check below fails and the domain powers off.
 *
 * With trap=1 the kernel first registers a #GP handler
 * (HYPERVISOR_set_trap_table), as Linux's xen_load_idt does: Xen then
 * bounces the fault to it. The handler (gp_entry below) records the frame
 * Xen built, resumes after the instruction and returns with HYPERVISOR_iret;
 * the checks after it report through the simulator that it ran once, at
 * the instruction, with error code 0, Xen's kernel CS, and the registers
 * the instructions before it in the same block had set.
 */
#include "guest.h"

ARG_ENUM(op, "cli|sti|wrmsr|rdmsr|cr0|cr3|swapgs|smc|none",
         "the privileged instruction to execute (smc: overwrite own code)");
ARG_BOOL(trap, "register a #GP handler (HYPERVISOR_set_trap_table) before the instruction");

/* Filled by the handler; gp_resume is where it returns to. */
volatile uint64_t gp_count, gp_err, gp_rip, gp_cs, gp_rbx, gp_resume, gp_expect;

void gp_entry(void);
/*
 * Xen's bounce frame: rcx, r11, error code, rip, cs, rflags, rsp, ss. Pop
 * rcx and r11 (as Linux's xen_pv_trap entries do), record, drop the error
 * code, point rip at gp_resume and leave through the iret stub with
 * [rip, cs, rflags, rsp, ss] on the stack and flags 0 pushed.
 */
__asm__(".text\n"
        ".globl gp_entry\n"
        "gp_entry:\n"
        "    popq %rcx\n"
        "    popq %r11\n"
        "    pushq %rax\n"
        "    movq 8(%rsp), %rax\n"
        "    movq %rax, gp_err(%rip)\n"
        "    movq 16(%rsp), %rax\n"
        "    movq %rax, gp_rip(%rip)\n"
        "    movq 24(%rsp), %rax\n"
        "    movq %rax, gp_cs(%rip)\n"
        "    movq %rbx, gp_rbx(%rip)\n"
        "    incq gp_count(%rip)\n"
        "    movq gp_resume(%rip), %rax\n"
        "    movq %rax, 16(%rsp)\n"
        "    popq %rax\n"
        "    addq $8, %rsp\n"
        "    pushq $0\n"
        "    jmp hypercall_page + (23 * 32)\n");

/*
 * One basic block: note where the instruction is and where to resume, set
 * %rbx, then the privileged instruction. The handler must see %rbx set: the
 * instructions before it ran, it did not.
 */
#define TRAPPED(insn, ...)                                                                         \
    __asm__ __volatile__("leaq 2f(%%rip), %%r8\n\t"                                                \
                         "movq %%r8, gp_resume(%%rip)\n\t"                                         \
                         "leaq 1f(%%rip), %%r8\n\t"                                                \
                         "movq %%r8, gp_expect(%%rip)\n\t"                                         \
                         "movq $0x5a5a5a5a, %%rbx\n"                                               \
                         "1:\t" insn "\n"                                                          \
                         "2:" ::__VA_ARGS__                                                        \
                         : "rbx", "r8", "memory")

static void trapped(const char *op)
{
    struct trap_info t[2] = {
        {.vector = 13, .flags = 0, .cs = 0xe033, .address = (unsigned long)gp_entry}, {0}};
    GCHECK(HYPERVISOR_set_trap_table(t) == 0);
    if (!strcmp(op, "cli"))
        TRAPPED("cli", "r"(0));
    else if (!strcmp(op, "sti"))
        TRAPPED("sti", "r"(0));
    else if (!strcmp(op, "wrmsr"))
        TRAPPED("wrmsr", "c"(0xc0000080u), "a"(0), "d"(0));
    else if (!strcmp(op, "rdmsr"))
        TRAPPED("rdmsr", "c"(0xc0000080u));
    else if (!strcmp(op, "cr0"))
        TRAPPED("mov %0, %%cr0", "r"(0x80050033ul));
    else if (!strcmp(op, "cr3"))
        TRAPPED("mov %0, %%cr3", "r"(0x1000ul));
    else if (!strcmp(op, "swapgs"))
        TRAPPED("swapgs", "r"(0));
    GCHECK(gp_count == 1);
    GCHECK(gp_rip == gp_expect);
    GCHECK(gp_err == 0);
    GCHECK((gp_cs & 0xffff) == 0xe033);
    GCHECK(gp_rbx == 0x5a5a5a5a);
    printf("privop: #GP handler ran %llu time(s) at rip 0x%llx, error code %llu\n",
           (unsigned long long)gp_count, (unsigned long long)gp_rip, (unsigned long long)gp_err);
}

static int __attribute__((noinline)) patched(void)
{
    return 1;
}

int app_main(void)
{
    const char *op = arg_str("op", "none");
    printf("privop: executing %s\n", op);
    if (arg_int("trap", 0) && strcmp(op, "smc") && strcmp(op, "none")) {
        trapped(op);
        return 0;
    }
    if (!strcmp(op, "cli"))
        __asm__ __volatile__("cli" ::: "memory");
    else if (!strcmp(op, "sti"))
        __asm__ __volatile__("sti" ::: "memory");
    else if (!strcmp(op, "wrmsr"))
        __asm__ __volatile__("wrmsr" ::"c"(0xc0000080u), "a"(0), "d"(0) : "memory");
    else if (!strcmp(op, "rdmsr")) {
        uint32_t lo, hi;
        __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080u));
        (void)lo;
        (void)hi;
    } else if (!strcmp(op, "cr0")) {
        unsigned long v = 0x80050033ul;
        __asm__ __volatile__("mov %0, %%cr0" ::"r"(v) : "memory");
    } else if (!strcmp(op, "cr3")) {
        unsigned long v = 0x1000ul;
        __asm__ __volatile__("mov %0, %%cr3" ::"r"(v) : "memory");
    } else if (!strcmp(op, "swapgs"))
        __asm__ __volatile__("swapgs" ::: "memory");
    else if (!strcmp(op, "smc")) {
        /* self-modifying code: code pages are not writable (W^X), the store faults */
        volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)patched;
        code[0] = 0xc3;
        GCHECK(patched() == 1);
    } else {
        GCHECK(1); /* no instruction: the domain runs on and powers off */
        return 0;
    }
    GCHECK(!"the privileged instruction ran in a PV kernel");
    return 0;
}
