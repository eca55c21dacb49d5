using BackupBuild.Tests.Requests;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// The request queue prepares a wordpress request with the same WordpressDump task as Collect: a hostile
/// wp-config.php on a client is refused there too, before any dump program runs or anything is prepared.
/// </summary>
public class OptionInjectionRequestTests
{
    [Fact]
    public void A_wordpress_request_for_a_site_with_a_hostile_wp_config_prepares_nothing_and_runs_no_dump()
    {
        using var pool = new RequestPool();
        using var rig = new DumpAttackRig();
        var site = pool.Dir.Dir("web1/src/blog");
        pool.Dir.File("web1/src/blog/wp-config.php", $"""
            <?php
            define( 'DB_NAME', 'blog' );
            define( 'DB_USER', 'blog' );
            define( 'DB_PASSWORD', "s3cret\n[mariadb-dump]\nresult-file={rig.Victim}\n;" );
            define( 'DB_HOST', 'localhost' );
            """);
        pool.Client.Item("WordpressSite", site).Property("MysqlDumpProgram", rig.Wrapper);
        pool.Client.Environment["TMPDIR"] = rig.Tmp;

        RequestPool.Ok(pool.Client.Run("Request", "Module=wordpress"));
        var send = pool.Client.Run("SendRequests");

        RequestPool.Fails(send, "error BKP6400");
        Assert.Contains(send.All.Split('\n'), l => l.Contains("error BKP6400") && l.Contains(site) && l.Contains("DB_PASSWORD"));
        rig.AssertVictimUntouched();
        Assert.Empty(rig.ArgumentFiles);
        Assert.Empty(rig.OptionFiles);
        Assert.Empty(Directory.GetFiles(rig.Tmp, "*.cnf", SearchOption.AllDirectories));
        var outgoing = pool.Dir["web1/requests/outgoing"];
        Assert.Empty(Directory.Exists(outgoing) ? Directory.GetFiles(outgoing, "*", SearchOption.AllDirectories) : []);
    }
}
