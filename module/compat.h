/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels libra builds against lives here, each
 * chosen by testing for the feature itself (a macro the kernel headers define),
 * never by comparing LINUX_VERSION_CODE.
 */
#ifndef LIBRA_COMPAT_H
#define LIBRA_COMPAT_H

#include <linux/ftrace.h>
#include <linux/ptrace.h>

/*
 * Redirecting a traced call: 6.1 names it ftrace_instruction_pointer_set();
 * later kernels renamed it ftrace_regs_set_instruction_pointer() when
 * ftrace_regs became opaque. Both are macros on x86.
 */
#if defined(ftrace_regs_set_instruction_pointer)
#define libra_ftrace_set_ip(fregs, ip) ftrace_regs_set_instruction_pointer(fregs, ip)
#elif defined(ftrace_instruction_pointer_set)
#define libra_ftrace_set_ip(fregs, ip) ftrace_instruction_pointer_set(fregs, ip)
#else
#error "libra: this kernel offers no way to redirect an ftrace'd call"
#endif

/*
 * The first argument of the traced function. The ops are registered with
 * FTRACE_OPS_FL_SAVE_REGS, so full pt_regs are always there.
 */
static __always_inline unsigned long libra_ftrace_arg0(struct ftrace_regs *fregs)
{
	return regs_get_kernel_argument(ftrace_get_regs(fregs), 0);
}

/*
 * A kprobe registered by name reports where it sits. On kernels built with
 * IBT that is after the function's ENDBR64 instruction, and an indirect call
 * must land on the ENDBR64 itself, so step back over it.
 */
#if defined(CONFIG_X86_KERNEL_IBT)
#include <asm/ibt.h>
static inline unsigned long libra_func_entry(unsigned long probed)
{
	if (is_endbr(*(u32 *)(probed - ENDBR_INSN_SIZE)))
		return probed - ENDBR_INSN_SIZE;
	return probed;
}
#else
static inline unsigned long libra_func_entry(unsigned long probed)
{
	return probed;
}
#endif

#endif /* LIBRA_COMPAT_H */
