import Foundation
import JSON
import RewindTestSupport
import Testing

/// Issue 15, row 2: a tenant's own distillation job over 33,000 training rows stores its learned
/// rows in every item (about 9 MB each); `GET /compare?jobs=ID` read and parsed all 28 items at
/// once, 1,521 MiB, and the server under a 2 GiB address-space limit went down. Pages now read
/// items a few megabytes at a time, compare draws from the rows' columns, and every page holds its
/// working memory from the node's budget.
@Suite("Security: pages over large items stay bounded", .serialized)
struct LargeItemPagesProcessTests {
    @Test func compareAndHistoryOfAJobWithNineMegabyteItemsKeepTheServerUpAndSmall() throws {
        let limited = try LimitedServer(prefix: "rewind-large-items", workers: 1)
        defer { limited.stop() }
        let session = limited.session

        // 34,000 rows of 16 features: the 33,000 learned training rows are about 9 MB of JSON.
        var csv = ""
        csv.reserveCapacity(5 << 20)
        for row in 0..<34_000 {
            for feature in 0..<16 {
                csv += "\((row * 31 + feature * 17) % 1000),"
            }
            csv += "\(row % 4)\n"
        }
        let dataset = try limited.upload(csv, name: "wide")
        let id = try session.submit(
            #"{"dataset":{"id":"\#(dataset)"},"split":{"train":33000,"validation":1000},"preprocess":{"standardize":true},"#
                + #""model":{"hidden":[4]},"training":{"iterations":1,"batch_size":10},"#
                + #""hyperparameters":{"training_data":{"learn":true}},"meta":{"iterations":27}}"#)
        // 28 items of about 9 MB: minutes in a debug build, many more on a loaded machine.
        try session.waitForStatus(id, "succeeded", timeout: .seconds(1_800))
        let item = try session.get("/v1/jobs/\(id)/history?after=0&limit=1")
        #expect(item.body.count > 5_000_000, "items of \(item.body.count) bytes")

        // (Plots parse every item and, in a debug build, take minutes over these: not timed here.)
        for target in ["/compare?jobs=\(id)", "/v1/jobs/\(id)/history?limit=1000"] {
            let before = try limited.resetPeak()
            let response = try session.request("GET", target, timeout: .seconds(120))
            let peak = limited.peak
            print(
                "GET \(target): \(response.status), \(response.body.count) bytes; RSS \(before >> 20) MiB, peak \(peak >> 20) MiB"
            )
            #expect(response.status == 200, "\(target): \(response.status)")
            // It was 1,521 MiB for /compare; a page now holds a few items' worth.
            #expect(peak - before < 256 << 20, "\(target) grew RSS by \((peak - before) >> 20) MiB")
        }
        #expect(try session.get("/compare?jobs=\(id)").status == 200)
        #expect(try session.get("/healthz").status == 200)
        #expect(
            limited.server.waitForExit(timeout: .milliseconds(1)) == nil, "the server exited:\n\(limited.server.log)")
    }
}
