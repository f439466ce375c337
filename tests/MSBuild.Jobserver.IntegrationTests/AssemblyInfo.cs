// Every test runs real builds that compete for the machine's two cores: they must never run at the same time.
[assembly: Microsoft.VisualStudio.TestTools.UnitTesting.Parallelize(Workers = 1, Scope = Microsoft.VisualStudio.TestTools.UnitTesting.ExecutionScope.ClassLevel)]

// FIFOs, /proc, sh, cargo and make: the end-to-end tests run on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
