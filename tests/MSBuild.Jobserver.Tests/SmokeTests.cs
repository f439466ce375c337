namespace MSBuild.Jobserver.Tests;

[TestClass]
public sealed class SmokeTests
{
    [TestMethod]
    public void AssemblyLoads() => Assert.IsNotNull(typeof(MSBuild.Jobserver.Protocol.JobserverAuth).Assembly);
}
