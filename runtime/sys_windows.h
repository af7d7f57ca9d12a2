/*
 * The raw system calls of os_windows.c, in one table, so that the fault
 * injection tests can make each call site fail with the error code of their
 * choice (SetLastError) and so reach every branch of the platform file (os.h
 * says when the table is writable). Only os_windows.c calls through it.
 *
 * Each entry has the signature and the error convention of the Win32
 * function it names. prefetch is PrefetchVirtualMemory, which Windows 7
 * lacks: the native entry looks it up at run time and fails with
 * ERROR_CALL_NOT_IMPLEMENTED where it is missing; so is VirtualAlloc2.
 */
#ifndef MEMORY_PAGES_RUNTIME_SYS_WINDOWS_H
#define MEMORY_PAGES_RUNTIME_SYS_WINDOWS_H

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "runtime/os.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mp__sys_api {
    LPVOID(WINAPI *VirtualAlloc)(LPVOID addr, SIZE_T size, DWORD type, DWORD protect);
    BOOL(WINAPI *VirtualFree)(LPVOID addr, SIZE_T size, DWORD type);
    BOOL(WINAPI *VirtualProtect)(LPVOID addr, SIZE_T size, DWORD protect, PDWORD old);
    BOOL(WINAPI *VirtualLock)(LPVOID addr, SIZE_T size);
    BOOL(WINAPI *FlushInstructionCache)(HANDLE process, LPCVOID addr, SIZE_T size);
    VOID(WINAPI *FlushProcessWriteBuffers)(VOID);
    BOOL(WINAPI *SwitchToThread)(VOID);
    VOID(WINAPI *GetSystemInfo)(LPSYSTEM_INFO info);
    BOOL (*prefetch)(PWIN32_MEMORY_RANGE_ENTRY range);
    /* Placement near an address (os_windows.c reserve_near). VirtualAlloc2
     * on the current process, which Windows before 10 (1803) lacks: the
     * native entry looks it up at run time and fails with
     * ERROR_CALL_NOT_IMPLEMENTED where it is missing. */
    PVOID(*VirtualAlloc2)
    (PVOID addr, SIZE_T size, ULONG type, ULONG protect, MEM_EXTENDED_PARAMETER *params,
     ULONG count);
    SIZE_T(WINAPI *VirtualQuery)(LPCVOID addr, PMEMORY_BASIC_INFORMATION info, SIZE_T size);
    /* The dual mapping's section and its views. */
    HANDLE(WINAPI *CreateFileMappingW)
    (HANDLE file, LPSECURITY_ATTRIBUTES attributes, DWORD protect, DWORD size_high, DWORD size_low,
     LPCWSTR name);
    LPVOID(WINAPI *MapViewOfFile)
    (HANDLE mapping, DWORD access, DWORD offset_high, DWORD offset_low, SIZE_T size);
    BOOL(WINAPI *UnmapViewOfFile)(LPCVOID base);
    BOOL(WINAPI *CloseHandle)(HANDLE handle);
} mp__sys_api;

extern MP__HOOKABLE mp__sys_api mp__sys;

/* The real calls, for tests that wrap them. */
extern const mp__sys_api mp__sys_native;

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_SYS_WINDOWS_H */
