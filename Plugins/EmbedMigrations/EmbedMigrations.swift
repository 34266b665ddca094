import Foundation
import PackagePlugin

/// Embeds `migrations/*.sql` of the package into the target as generated Swift, so the binary
/// carries its schema wherever it is started from (the Docker image too).
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "migrations")
        let files = try FileManager.default
            .contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        // SwiftPM caches this plan and does not re-run the plugin when a file appears outside a
        // target's sources. So the directory itself is an input (a new file changes its mtime,
        // which reruns the embedder) and the embedder lists the directory rather than trusting
        // `files`; the files are inputs so that edits rerun it too. Deleting or renaming a
        // migration (never done to a shipped one) leaves a stale plan that reports "missing
        // inputs": `touch Package.swift` re-plans.
        return [
            .buildCommand(
                displayName: "Embedding migrations into \(target.name)",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path, directory.path],
                inputFiles: [directory] + files,
                outputFiles: [output]),
        ]
    }
}
