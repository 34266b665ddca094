import ArgumentParser
import Foundation
import JSON

/// `rewind datasets upload|list|delete`: the service's data sets.
struct DatasetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets", abstract: "Upload, list and delete data sets.",
        subcommands: [DatasetUploadCommand.self, DatasetListCommand.self, DatasetDeleteCommand.self])
}

/// `rewind datasets upload FILE [--name N]`: sends a CSV as it is (the service validates it).
struct DatasetUploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload", abstract: "Upload a CSV data set; prints its id.",
        discussion: """
            The CSV holds one example per line: the features as numbers, then the class label, an \
            integer in 0..K-1. A header line is allowed. Uploading the same bytes again returns the \
            existing data set (200) instead of creating a second one (201).
            """)

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The CSV file.")
    var file: String

    @Option(help: "The data set's name (default: the file name without its extension).")
    var name: String?

    @Flag(help: "Print the data set resource as JSON instead of its id and a summary.")
    var json = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            Console.error("rewind: cannot read \(file)")
            throw ExitCode(2)
        }
        let chosen = name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let response = try service.call(
            "POST", "/v1/datasets?name=\(ServiceOptions.queryValue(chosen))", body: [UInt8](data),
            contentType: "text/csv")
        let dataset = try JSONValue.parse(response.body)
        if json {
            Console.output(dataset.serializedString())
            return
        }
        Console.output(dataset["id"]?.stringValue ?? "?")
        let existing = response.status == 200 ? " (these bytes were uploaded before: the existing data set)" : ""
        Console.error("rewind: \(DatasetListCommand.summary(dataset))\(existing)")
    }
}

/// `rewind datasets list`: built-in and uploaded data sets.
struct DatasetListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the built-in and uploaded data sets.")

    @OptionGroup var service: ServiceOptions

    @Flag(help: "Print each data set resource as a JSON line.")
    var json = false

    func run() throws {
        let page = try JSONValue.parse(try service.call("GET", "/v1/datasets").body)
        if !json {
            Console.output(
                ListCommand.pad("ID", 36) + "  " + ListCommand.pad("NAME", 16) + "  ROWS × FEATURES, CLASSES")
        }
        for dataset in page["datasets"]?.arrayValue ?? [] {
            Console.output(json ? dataset.serializedString() : Self.row(dataset))
        }
    }

    static func row(_ dataset: JSONValue) -> String {
        ListCommand.pad(dataset["id"]?.stringValue ?? "?", 36) + "  "
            + ListCommand.pad(dataset["name"]?.stringValue ?? "?", 16)
            + "  " + shape(dataset) + (dataset["builtin"]?.boolValue == true ? "  (built in)" : "")
    }

    static func shape(_ dataset: JSONValue) -> String {
        let rows = dataset["rows"]?.intValue ?? 0, features = dataset["features"]?.intValue ?? 0
        return "\(rows) × \(features), \(dataset["classes"]?.intValue ?? 0) classes"
    }

    /// "blobs: 300 × 2, 3 classes (100, 100, 100 rows)": the shape and the rows of each class.
    static func summary(_ dataset: JSONValue) -> String {
        var text = "\(dataset["name"]?.stringValue ?? "?"): \(shape(dataset))"
        if let counts = dataset["class_counts"]?.arrayValue?.compactMap(\.intValue), !counts.isEmpty {
            text += " (\(counts.map(String.init).joined(separator: ", ")) rows)"
        }
        return text
    }
}

/// `rewind datasets delete ID`.
struct DatasetDeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete an uploaded data set (not while a queued or running job uses it).")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The data set id.")
    var id: String

    func run() throws {
        _ = try service.call("DELETE", "/v1/datasets/\(id)")
        Console.output("deleted \(id)")
    }
}
