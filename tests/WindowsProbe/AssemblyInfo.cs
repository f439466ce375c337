// A Windows program: published for win-x64 and run under wine.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("windows")]
