namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// The name under which the package's targets register <see cref="ExecWithJobserver"/> as "Exec": a UsingTask
/// binds to a class named like the task, so existing &lt;Exec&gt; elements resolve here with no project edits.
/// </summary>
public sealed class Exec : ExecWithJobserver
{
}
