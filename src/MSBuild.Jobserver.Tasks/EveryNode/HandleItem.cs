using System;
using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tasks.EveryNode;

/// <summary>The build's pool as the item the rendezvous hands every node, and back.</summary>
internal static class HandleItem
{
    /// <summary>The metadata naming the entry project beside the pool, so a worker that asked for the pool need not ask again.</summary>
    public const string EntryProjectMetadata = "EntryProject";

    /// <summary>Whether <paramref name="item"/> is a handle (it has a mode), not another answer of the rendezvous.</summary>
    public static bool IsHandle(ITaskItem item) => item.GetMetadata(nameof(BuildJobserverHandle.Mode)).Length > 0;

    /// <summary>The handle as the rendezvous target returns it.</summary>
    public static ITaskItem ToItem(this BuildJobserverHandle handle)
    {
        var item = new TaskItem(handle.Nonce);
        item.SetMetadata(nameof(BuildJobserverHandle.Mode), handle.Mode.ToString());
        item.SetMetadata(nameof(BuildJobserverHandle.Slots), handle.Slots.ToString(CultureInfo.InvariantCulture));
        item.SetMetadata(nameof(BuildJobserverHandle.PoolPath), handle.PoolPath);
        item.SetMetadata(nameof(BuildJobserverHandle.PoolIdentity), handle.PoolIdentity?.ToString() ?? "");
        item.SetMetadata(nameof(BuildJobserverHandle.LocalPath), handle.LocalPath);
        item.SetMetadata(nameof(BuildJobserverHandle.LocalIdentity), handle.LocalIdentity?.ToString() ?? "");
        item.SetMetadata("PoolDirectory", handle.Directory);
        item.SetMetadata(nameof(BuildJobserverHandle.OwnerProcessId), handle.OwnerProcessId.ToString(CultureInfo.InvariantCulture));
        item.SetMetadata(nameof(BuildJobserverHandle.InheritedRejected), handle.InheritedRejected ? "true" : "false");
        item.SetMetadata(nameof(BuildJobserverHandle.Reason), handle.Reason);
        item.SetMetadata(nameof(BuildJobserverHandle.Shared), handle.Shared ? "true" : "false");
        item.SetMetadata(nameof(BuildJobserverHandle.MinFreeMemoryMiB), handle.MinFreeMemoryMiB.ToString(CultureInfo.InvariantCulture));
        return item;
    }

    /// <summary>Reads what <see cref="ToItem"/> wrote; throws <see cref="FormatException"/> on anything else.</summary>
    public static BuildJobserverHandle ToHandle(this ITaskItem item)
    {
        static PipeIdentity? Identity(string text) =>
            text.Length == 0 ? null : PipeIdentity.TryParse(text, out var id) ? id : throw new FormatException("Bad pipe identity '" + text + "'.");

        if (!Enum.TryParse(item.GetMetadata(nameof(BuildJobserverHandle.Mode)), out BuildJobserverMode mode)
            || !int.TryParse(item.GetMetadata(nameof(BuildJobserverHandle.Slots)), NumberStyles.Integer, CultureInfo.InvariantCulture, out var slots)
            || !int.TryParse(item.GetMetadata(nameof(BuildJobserverHandle.OwnerProcessId)), NumberStyles.Integer, CultureInfo.InvariantCulture, out var owner))
        {
            throw new FormatException("The jobserver rendezvous returned an item this version does not understand: '" + item.ItemSpec + "'.");
        }

        return new BuildJobserverHandle
        {
            Nonce = item.ItemSpec,
            Mode = mode,
            Slots = slots,
            PoolPath = item.GetMetadata(nameof(BuildJobserverHandle.PoolPath)),
            PoolIdentity = Identity(item.GetMetadata(nameof(BuildJobserverHandle.PoolIdentity))),
            LocalPath = item.GetMetadata(nameof(BuildJobserverHandle.LocalPath)),
            LocalIdentity = Identity(item.GetMetadata(nameof(BuildJobserverHandle.LocalIdentity))),
            Directory = item.GetMetadata("PoolDirectory"),
            OwnerProcessId = owner,
            InheritedRejected = string.Equals(item.GetMetadata(nameof(BuildJobserverHandle.InheritedRejected)), "true", StringComparison.OrdinalIgnoreCase),
            Reason = item.GetMetadata(nameof(BuildJobserverHandle.Reason)),
            Shared = string.Equals(item.GetMetadata(nameof(BuildJobserverHandle.Shared)), "true", StringComparison.OrdinalIgnoreCase),
            MinFreeMemoryMiB = long.TryParse(item.GetMetadata(nameof(BuildJobserverHandle.MinFreeMemoryMiB)), NumberStyles.Integer, CultureInfo.InvariantCulture, out var minFree) ? minFree : 0,
        };
    }
}
