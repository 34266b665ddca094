import Foundation
import JSON
import RewindTestSupport
import Testing

/// Conv jobs through the service: admission counts their workspace, and a job's result carries its
/// first conv layer's trained filters, which its dashboard page draws as an image grid.
@Suite("Layered jobs through the service")
struct LayeredJobsTests {
    static let spec = #"""
        {"name": "filters", "dataset": {"name": "digits"}, "split": {"train": 200, "validation": 100},
         "model": {"layers": [{"type": "conv2d", "filters": 3, "kernel": 3, "stride": 1, "padding": "same"},
                              {"type": "tanh"}, {"type": "maxpool", "size": 2}]},
         "training": {"iterations": 10, "batch_size": 20}, "meta": {"iterations": 2}}
        """#

    @Test func theFinalItemHoldsTheFiltersAndTheJobPageShowsThemAsAnImageGrid() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        let id = try session.submit(Self.spec)
        try session.waitForStatus(id, "succeeded")

        let history = try session.history(id)
        #expect(history.count == 3)
        #expect(history.dropLast().allSatisfy { $0["first_conv_filters"] == nil }, "only the final item has them")
        let filters = try #require(history.last?["first_conv_filters"])
        #expect(filters["filters"] == 3 && filters["kernel"] == 3 && filters["channels"] == 1)
        let values = (filters["values"]?.arrayValue ?? []).compactMap { $0.doubleValue }
        #expect(values.count == 27 && values.allSatisfy(\.isFinite) && Set(values).count == 27)
        #expect(try session.get("/v1/jobs/\(id)/result").json["final"]?["first_conv_filters"] == filters)

        // The page links the grid, and the grid draws one 3×3 image per filter.
        let page = try session.get("/jobs/\(id)")
        #expect(page.text.contains("/v1/jobs/\(id)/plots/filters.svg"))
        let grid = try session.get("/v1/jobs/\(id)/plots/filters.svg")
        #expect(grid.status == 200 && grid.header("Content-Type")?.hasPrefix("image/svg+xml") == true)
        let svg = grid.text
        #expect(svg.contains("First conv layer"))
        for title in ["filter 1", "filter 2", "filter 3"] { #expect(svg.contains(">\(title)<"), "\(title)") }
        #expect(!svg.contains("filter 4"))
        // The layered schedule plots keep one panel per layer with parameters.
        let rates = try session.get("/v1/jobs/\(id)/plots/learning_rate.svg").text
        #expect(rates.contains(">conv2d_1<") && rates.contains(">dense_1<"))

        // A dense job has no filters plot.
        let dense = try session.submit(TestSpecs.small(name: "dense"))
        try session.waitForStatus(dense, "succeeded")
        #expect(try session.get("/v1/jobs/\(dense)/plots/filters.svg").status == 404)
        #expect(try session.history(dense).last?["first_conv_filters"] == nil)
    }

    @Test func aConvSpecTooBigForTheJobMemoryIsA422BeforeItRuns() throws {
        let service = try TestService()
        defer { service.stop() }
        let session = APISession(service)
        // 1024 filters of 32×32 on 8×8 images: about 1M parameters (under the limit), but each row
        // of a batch of 1000 needs megabytes of activations and im2col patches (gigabytes in all).
        let spec = #"""
            {"name": "too big", "dataset": {"name": "digits"}, "split": {"train": 1000, "validation": 797},
             "model": {"layers": [{"type": "conv2d", "filters": 1024, "kernel": 32, "padding": "same"}, {"type": "relu"}]},
             "training": {"iterations": 10, "batch_size": 1000}, "meta": {"iterations": 1}}
            """#
        let response = try session.post("/v1/jobs", json: spec)
        response.expectProblem(422)
        #expect(response.json["type"]?.stringValue?.hasSuffix("over-memory-budget") == true)
        let fields = response.json["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains("/model/layers"), "\(fields)")
        #expect(try session.get("/v1/jobs").json["jobs"]?.arrayValue?.isEmpty == true, "no job was created")
    }
}
