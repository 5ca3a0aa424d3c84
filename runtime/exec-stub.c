/*
 * The exec stub: a freestanding static program, a few hundred bytes, that
 * berth's container process executes from a sealed memfd just before the
 * user's program. Its only job is execve(argv[1], argv + 2, envp).
 *
 * Why: until it execs, the container process is a fork of berth, so during the
 * final execve its /proc/self/exe is the berth binary on the host. A container
 * program such as "#!/proc/self/exe" would make the kernel run the host's berth
 * inside the container, where another container process can open
 * /proc/<pid>/exe and later write the host binary (CVE-2019-5736). Executing
 * this stub first makes /proc/self/exe a sealed, unwritable memfd for that
 * last step; it costs one small exec and no per-container copy of berth.
 *
 * A real invocation has argv[0] == "" — the kernel never passes an empty
 * interpreter name, so a "#!/proc/self/exe" script reaching the stub is refused
 * instead of looping.
 */
#include <asm/unistd.h>

#if defined(__x86_64__)
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call stub_main\n"
        "  hlt\n");

static long sys3(long n, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl stub_main\n");

static long sys3(long n, long a, long b, long c)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
#else
#error "exec stub: unsupported architecture"
#endif

static unsigned long len(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static void say(const char *s)
{
    sys3(__NR_write, 2, (long)s, (long)len(s));
}

static const char *errno_name(long e)
{
    switch (e) {
    case 1: return "Operation not permitted";
    case 2: return "No such file or directory";
    case 7: return "Argument list too long";
    case 8: return "Exec format error";
    case 12: return "Cannot allocate memory";
    case 13: return "Permission denied";
    case 20: return "Not a directory";
    case 21: return "Is a directory";
    case 26: return "Text file busy";
    case 40: return "Too many levels of symbolic links";
    default: return "exec failed";
    }
}

__attribute__((noreturn, used)) void stub_main(long *sp);

void stub_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;

    if (argc < 3 || argv[0][0] != '\0') {
        say("berth: the exec stub only runs as berth's last step before a container "
            "program\n");
        sys3(__NR_exit_group, 126, 0, 0);
    }
    long r = sys3(__NR_execve, (long)argv[1], (long)(argv + 2), (long)envp);
    say("berth: exec ");
    say(argv[1]);
    say(": ");
    say(errno_name(-r));
    say("\n");
    sys3(__NR_exit_group, -r == 2 ? 127 : 126, 0, 0);
    __builtin_unreachable();
}
