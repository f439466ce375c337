using System.ComponentModel;
using System.IO;
using System.Runtime.InteropServices;
using MSBuild.Jobserver.Pools;

namespace MSBuild.Jobserver.Windows;

/// <summary>
/// A lock file held open sharing nothing but deletion: no one else can open it while any handle to it is open, and
/// Windows closes a handle when its process ends, however it ends.
/// </summary>
internal sealed class WindowsFileLock : FileLock
{
    private const uint HandleFlagInherit = 0x1;

    private readonly FileStream _stream;

    public WindowsFileLock(FileStream stream) => _stream = stream;

    // Process.Start (UseShellExecute false) passes every inheritable handle to the child: while the handle is
    // inheritable, the tool started gets a copy, and the lock lasts until the last copy is closed (its tree has ended).
    public override void ShareWithChildren(bool share)
    {
        if (!SetHandleInformation(_stream.SafeFileHandle, HandleFlagInherit, share ? HandleFlagInherit : 0))
        {
            throw new IOException("The lease could not be shared with the tool.", new Win32Exception(Marshal.GetLastWin32Error()));
        }
    }

    public override void Dispose() => _stream.Dispose();

    [DllImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool SetHandleInformation(Microsoft.Win32.SafeHandles.SafeFileHandle handle, uint mask, uint flags);
}
