// swift-tools-version: 6.0
// Rewind: exact hypergradients by reversible learning, as an HTTP service.
import PackageDescription

let package = Package(
    name: "Rewind",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rewind", targets: ["RewindCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // C libraries, each imported by exactly one Swift module.
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        // zlib: the built-in MNIST file (gzip) and the deflate-compressed members of .npz uploads.
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // PostgreSQL's own C client (see README "Storage engines" for why not a Swift package).
        .systemLibrary(
            name: "CPostgreSQL", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),

        // Layers, dependencies pointing down only (see docs/architecture.md).
        .target(name: "JSON"),
        .target(name: "Digest"),
        // The node's memory budget, shared by the HTTP server (bodies), the API (pages) and jobs.
        .target(name: "NodeResources"),
        .target(name: "LinearAlgebra", dependencies: ["COpenBLAS"]),
        // AVX-512 kernels of the information buffer, chosen at run time (integer-exact); optimised
        // in debug builds too, like Learning.
        .target(name: "CBufferKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        // Optimised even in debug builds: unoptimised, its SIMD arithmetic (PortableMath) is tens
        // of times slower, which made every training test and debug `rewind serve` crawl.
        .target(
            name: "Learning", dependencies: ["CBufferKernels", "LinearAlgebra"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "Tuning", dependencies: ["CZlib", "JSON", "Learning"]),
        .target(name: "Storage", dependencies: ["CSQLite", "CPostgreSQL", "JSON"], plugins: ["EmbedMigrations"]),
        .target(name: "HTTPServer", dependencies: ["NodeResources"]),
        // The one HTTP/1.1 client: the CLI's, the tests' (HTTPTestClient) and the load generator's.
        .target(name: "HTTPClient"),
        .target(name: "Jobs", dependencies: ["JSON", "NodeResources", "Storage", "Tuning"]),
        .target(name: "Dashboard", dependencies: ["JSON"]),
        .target(
            name: "API",
            dependencies: ["Dashboard", "Digest", "HTTPServer", "JSON", "Jobs", "NodeResources", "Tuning", "Storage"]),
        // The benchmark harness behind `rewind bench`, `bench-http`, `bench-queue` and `bench-upload`.
        .target(
            name: "RewindBench",
            dependencies: [
                "Dashboard", "HTTPClient", "JSON", "Jobs", "Learning", "LinearAlgebra", "Storage", "Tuning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "RewindCLI",
            dependencies: [
                "API", "Dashboard", "Digest", "JSON", "Jobs", "Tuning", "Learning", "LinearAlgebra", "NodeResources",
                "Storage",
                "HTTPServer", "HTTPClient", "RewindBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Build-time embedding of migrations/*.sql into Storage (name, SQL, SHA-256 of each file).
        .executableTarget(name: "MigrationEmbedder", dependencies: ["Digest"]),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"]),

        // Shared test helpers: temp databases, a loopback HTTP client, gradient checkers.
        .target(
            name: "RewindTestSupport",
            dependencies: ["API", "HTTPClient", "HTTPServer", "Jobs", "Learning", "LinearAlgebra", "Storage"],
            path: "Tests/RewindTestSupport"),

        .testTarget(name: "JSONTests", dependencies: ["JSON", "RewindTestSupport"]),
        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "NodeResourcesTests", dependencies: ["NodeResources"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra", "RewindTestSupport"]),
        .testTarget(name: "LearningTests", dependencies: ["Learning", "LinearAlgebra", "RewindTestSupport"]),
        .testTarget(name: "TuningTests", dependencies: ["Tuning", "JSON", "Learning", "RewindTestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "RewindTestSupport"]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "NodeResources", "RewindTestSupport"]),
        .testTarget(name: "RewindCLITests", dependencies: ["HTTPClient", "RewindBench", "RewindCLI"]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "JSON"]),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "Jobs", "NodeResources", "Storage", "Tuning", "JSON", "HTTPServer", "RewindTestSupport",
            ]),
        // Issue 10's attacks, one test per point, against the real server (and the real `rewind`
        // binary under a memory limit).
        .testTarget(
            name: "SecurityTests",
            dependencies: ["API", "Dashboard", "Digest", "HTTPServer", "JSON", "RewindTestSupport", "Storage"]),
    ]
)
