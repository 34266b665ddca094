import Foundation
import JSON
import RewindTestSupport
import Testing

/// Issue 15, row 10: a CSV with values near 1e308 and `"standardize": true` was accepted with
/// `"std": [null, null]` (the sums of squares overflowed), against the published schema, and the
/// job then failed. The statistics are now computed on each column scaled by its largest magnitude,
/// so they are finite for any finite data; a column whose standardised values still overflow (a
/// validation value far outside the training rows' spread) is refused with a 422 naming it.
@Suite("Security: standardisation cannot overflow", .serialized)
struct StandardisationOverflowTests {
    @Test func valuesNearTheLargestDoubleStandardiseToFiniteStatisticsAndTheJobRuns() throws {
        let limited = try LimitedServer(prefix: "rewind-standardise", workers: 1)
        defer { limited.stop() }
        let session = limited.session

        // Feature 0 near ±1.7e308, feature 1 ordinary, feature 2 up to 2e307; 60 rows, 2 classes.
        var csv = "a,b,c,label\n"
        for row in 0..<60 {
            let huge = (row % 2 == 0 ? 1.0 : -1.0) * (1.0 + Double(row % 7) / 10) * 1e308
            csv += "\(huge),\(row % 10),\(Double(row % 3) * 1e307),\(row % 2)\n"
        }
        let id = try limited.upload(csv, name: "huge")
        let spec = Self.standardisedSpec(datasetID: id)
        let accepted = try session.postJSON("/v1/jobs", spec)
        #expect(accepted.status == 202, "\(accepted.status): \(accepted.text)")
        let preprocess = accepted.json["spec"]?["preprocess"]
        let means = preprocess?["mean"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let stds = preprocess?["std"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        #expect(means.count == 3 && stds.count == 3, "\(preprocess?.serializedString() ?? "no preprocess")")
        #expect(means.allSatisfy(\.isFinite) && stds.allSatisfy { $0.isFinite && $0 > 0 })
        #expect(stds[0] > 1e307)
        let jobID = try #require(accepted.json["id"]?.stringValue)
        try session.waitForStatus(jobID, "succeeded")
        #expect(try session.get("/healthz").status == 200)
    }

    @Test func aColumnWhoseStandardisedValuesOverflowIsRefusedByName() throws {
        let limited = try LimitedServer(prefix: "rewind-standardise", workers: 1)
        defer { limited.stop() }
        let session = limited.session

        // Feature 1's training rows spread over a thousandth; its validation rows sit at 1e308.
        var csv = ""
        for row in 0..<60 {
            let second = row < 40 ? Double(row) * 1e-4 : 1e308
            csv += "\(row % 5),\(second),\(row % 2)\n"
        }
        let id = try limited.upload(csv, name: "far")
        let spec = Self.standardisedSpec(datasetID: id)
        let refused = try session.postJSON("/v1/jobs", spec)
        #expect(refused.status == 422, "\(refused.status): \(refused.text)")
        let errors = refused.json["errors"]?.arrayValue ?? []
        #expect(errors.contains { $0["field"]?.stringValue == "/preprocess/standardize" })
        #expect(errors.contains { $0["message"]?.stringValue?.contains("column(s) 1 ") == true }, "\(refused.text)")
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true)
    }

    /// A small job on the upload with standardisation on and the first 40 rows (unshuffled) for
    /// training, the next 20 for validation.
    static func standardisedSpec(datasetID id: String) -> String {
        #"{"dataset":{"id":"\#(id)"},"split":{"train":40,"validation":20,"shuffle":false},"#
            + #""preprocess":{"standardize":true},"#
            + #""model":{"hidden":[4]},"training":{"iterations":20,"batch_size":10},"meta":{"iterations":1}}"#
    }
}
