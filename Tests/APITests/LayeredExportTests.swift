import JSON
import RewindTestSupport
import Testing

/// `rewind export --problem conv-small`: what bench/jax_reference.py needs to rebuild a conv net.
@Suite("rewind export writes layered problems for the JAX reference")
struct LayeredExportTests {
    @Test func convExportCarriesTheLayersTheImageShapeAndAHypergradientPerBlock() throws {
        let run = try CommandLineRun.rewind([
            "export", "--problem", "conv-small", "--iterations", "3", "--repeats", "2",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let document = try JSONValue.parse(run.stdout)
        let architecture = document["architecture"]
        #expect(architecture?["image"] == .array([.number(8), .number(8), .number(1)]))
        #expect(architecture?["classes"]?.intValue == 10)
        let layers = architecture?["layers"]?.arrayValue ?? []
        #expect(layers.map { $0["type"]?.stringValue ?? "" } == ["conv2d", "tanh", "avgpool"])
        #expect(layers.first?["stride"]?.intValue == 2)
        #expect(layers.first?["padding"]?.stringValue == "same")
        let blocks = document["blocks"]?.arrayValue ?? []
        #expect(
            blocks.map { $0["name"]?.stringValue ?? "" } == [
                "conv2d_1.weights", "conv2d_1.biases", "dense_1.weights", "dense_1.biases",
            ])
        let gradient = document["rewind"]?["hypergradient"]
        let rates = gradient?["learning_rates"]?.arrayValue ?? []
        #expect(rates.count == 3 && rates.allSatisfy { $0.arrayValue?.count == 4 })
        #expect(document["rewind"]?["objective"]?.doubleValue.map(\.isFinite) == true)
        // Layered problems also time plain training for the speed table, once after each
        // hypergradient run, and report the median.
        let rewind = document["rewind"]
        let runs = (rewind?["training_runs_seconds"]?.arrayValue ?? []).compactMap(\.doubleValue)
        #expect(runs.count == 2 && (rewind?["seconds"]?.arrayValue?.count ?? 0) == 2)
        #expect(runs.allSatisfy { $0 > 0 })
        #expect(rewind?["training_seconds"]?.doubleValue == (runs.sorted()[0] + runs.sorted()[1]) / 2)
    }
}
