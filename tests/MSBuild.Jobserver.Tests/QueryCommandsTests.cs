using MSBuild.Jobserver.Commands;


namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 22: which commands only ask their tool something (and so run at once, without a token): the forms listed in
/// docs/configuration.md, and nothing that runs a job.
/// </summary>
[TestClass]
public sealed class QueryCommandsTests
{
    private static readonly string[] Listed = { "cargo", "rustc", "make", "gmake", "cmake", "ninja", "mytool" };

    [TestMethod]
    [DataRow("rustc --print sysroot")]
    [DataRow("rustc --print=cfg --target x86_64-unknown-linux-gnu")]
    [DataRow("rustc --print target-libdir --print sysroot 2>/dev/null")]
    [DataRow("rustc -vV")]
    [DataRow("rustc --explain E0308")]
    [DataRow("cargo metadata --format-version 1 --no-deps > meta.json")]
    [DataRow("cargo +nightly locate-project --workspace")]
    [DataRow("cargo --config net.offline=true pkgid")]
    [DataRow("cargo --version")]
    [DataRow("cargo -vV")]
    [DataRow("cargo tree -e normal")]
    [DataRow("CARGO_TARGET_DIR=t cargo metadata")]
    [DataRow("cd ws && cargo metadata | jq .packages")]
    [DataRow("make --version")]
    [DataRow("make -v")]
    [DataRow("cmake --version")]
    [DataRow("cmake -E capabilities")]
    [DataRow("ninja -t targets all")]
    [DataRow("mytool --version")]
    [DataRow("/usr/bin/rustc --print sysroot && echo done")]
    public void Queries(string command) =>
        Assert.IsTrue(QueryCommands.IsQuery(command, Listed.Contains), command);

    [TestMethod]
    [DataRow("cargo build --offline")]
    [DataRow("cargo metadata && cargo build")]
    [DataRow("cargo --config build.jobs=2 build")]
    [DataRow("cargo -v build")]
    [DataRow("rustc --print native-static-libs src/lib.rs")]
    [DataRow("rustc --print link-args main.rs")]
    [DataRow("rustc src/lib.rs")]
    [DataRow("rustc --print")]
    [DataRow("make")]
    [DataRow("make -n all")]
    [DataRow("make --version all")]
    [DataRow("cmake --build out")]
    [DataRow("cmake -E env CARGO_BUILD_JOBS=2 cargo --version")]
    [DataRow("ninja")]
    [DataRow("mytool build")]
    [DataRow("echo --version")]
    [DataRow("cargo")]
    public void Jobs(string command) =>
        Assert.IsFalse(QueryCommands.IsQuery(command, Listed.Contains), command);
}
