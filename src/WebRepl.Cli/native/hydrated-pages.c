/*
 * Linked into the native (AOT) webrepl on Linux; runs before main.
 *
 * The native runtime starts by expanding the program's compressed ("dehydrated") data into about 6 MB of zeroed
 * memory at the end of the executable's writable segment (its .bss and .hydrated sections). Touched 4 KB at a time,
 * that is some 1,600 page faults, about half of a short command's CPU time (bench/README.md, "The native tool").
 * Asked for as huge pages where the range allows them, then filled in one call, the same memory costs a few dozen.
 * Only advice: where the kernel has no transparent huge pages or no MADV_POPULATE_WRITE (Linux before 5.14), the
 * calls fail and the pages fault in as before. The executable stays position-independent (ASLR is kept).
 */
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int advise_zero_filled_data(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    const uintptr_t page = 4096;
    for (int i = 0; i < info->dlpi_phnum; i++)
    {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_LOAD || (header->p_flags & PF_W) == 0 || header->p_memsz <= header->p_filesz)
        {
            continue;
        }

        /* The part past the file's bytes: anonymous, zero-filled memory. */
        uintptr_t start = (info->dlpi_addr + header->p_vaddr + header->p_filesz + page - 1) & ~(page - 1);
        uintptr_t end = (info->dlpi_addr + header->p_vaddr + header->p_memsz + page - 1) & ~(page - 1);
        if (end > start)
        {
            madvise((void *)start, end - start, MADV_HUGEPAGE);
            madvise((void *)start, end - start, MADV_POPULATE_WRITE);
        }
    }

    /* The executable comes first: nothing else to look at. */
    return 1;
}

__attribute__((constructor)) static void prepare_hydrated_pages(void)
{
    dl_iterate_phdr(advise_zero_filled_data, NULL);
}
