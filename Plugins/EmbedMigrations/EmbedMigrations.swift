import Foundation
import PackagePlugin

/// Embeds `migrations/sqlite/*.sql` and `migrations/postgresql/*.sql` of the package into the
/// target as generated Swift, so the binary carries both engines' schemas wherever it is started
/// from (the Docker image too).
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "migrations")
        let engines = ["sqlite", "postgresql"].map { directory.appending(path: $0) }
        let files = try engines.flatMap { engine in
            try FileManager.default
                .contentsOfDirectory(at: engine, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "sql" }
        }.sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        // SwiftPM caches this plan and does not re-run the plugin when a file appears outside a
        // target's sources. So the engine directories are inputs (a new file changes their mtime,
        // which reruns the embedder) and the embedder lists the directory rather than trusting
        // `files`; the files are inputs so that edits rerun it too. Deleting or renaming a
        // migration (never done to a shipped one) leaves a stale plan that reports "missing
        // inputs": `touch Package.swift` re-plans.
        return [
            .buildCommand(
                displayName: "Embedding migrations into \(target.name)",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path, directory.path],
                inputFiles: engines + files,
                outputFiles: [output])
        ]
    }
}
