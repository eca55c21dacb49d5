using Xunit;
using static BackupBuild.Tests.Requests.RequestPool;

namespace BackupBuild.Tests.Requests;

/// <summary>
/// Issue 18, point 7: prepared files did not pile up in the client's outgoing folder only as long as the server's own
/// sftp `rm` worked. The server now lists what it has stored ("stored" in its acks commit) and the client removes
/// exactly those files, never one the server did not confirm.
/// </summary>
[Collection("RequestQueue")]
public class StoredAckTests
{
    [Fact]
    public void The_client_removes_a_prepared_file_the_server_confirmed_stored_and_keeps_one_it_did_not()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Ok(pool.Client.Run("Request", "Module=trac"));
        Ok(pool.Client.Run("SendRequests"));
        var outgoing = pool.Dir["web1/requests/outgoing/backup1"];
        var prepared = Directory.GetFiles(outgoing).Single();
        var copy = pool.Dir["prepared.copy"];
        File.Copy(prepared, copy);

        Ok(pool.Server.Run("ProcessRequests"));
        Assert.Single(Directory.GetFiles(pool.Data + "sftp/objects"));
        Assert.False(File.Exists(prepared));
        // As if the server's sftp rm had failed (a dropped connection): the stored file is still there, and beside it a
        // prepared file the server never fetched.
        File.Copy(copy, prepared);
        var unconfirmed = Path.Combine(outgoing, new string('a', 64));
        File.WriteAllText(unconfirmed, "not stored anywhere\n");

        // The acknowledgement finishes the request; the stored list comes with the server's next run.
        Ok(pool.Client.Run("SendRequests"));
        Assert.Empty(pool.PoolFiles);
        Assert.True(File.Exists(prepared));
        Ok(pool.Server.Run("ProcessRequests"));
        var send = pool.Client.Run("SendRequests");
        Ok(send);
        Assert.Contains("removed 1 prepared file(s) that backup1 confirmed stored", send.Output);
        Assert.False(File.Exists(prepared));
        Assert.True(File.Exists(unconfirmed));
    }
}
