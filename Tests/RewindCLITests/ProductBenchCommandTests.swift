import Testing

@testable import RewindBench

/// `rewind bench-products` fails (exit 1) when a product through Rewind's kernels differs from the
/// BLAS in any bit, so running it is a check of the kernels at LeNet's and MNIST's full shapes.
@Suite("rewind bench-products")
struct ProductBenchCommandTests {
    @Test func everyBenchmarkedProductHasTheBLASBits() throws {
        let command = try ProductBenchCommand.parse(["--repeats", "1", "--json"])
        try command.run()
    }
}
