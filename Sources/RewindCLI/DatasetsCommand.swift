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
        commandName: "upload", abstract: "Upload a CSV or NumPy .npz data set; prints its id.",
        discussion: """
            The CSV holds one example per line: the features as numbers, then the class label, an \
            integer in 0..K-1. A header line is allowed. A .npz (numpy.savez or savez_compressed) \
            holds x (N×D, N×H×W or N×H×W×C) and y (N integer labels); images keep their shape. \
            Uploading the same bytes again returns the existing data set (200) instead of creating \
            a second one (201).
            """)

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The CSV or .npz file.")
    var file: String

    @Option(help: "The data set's name (default: the file name without its extension).")
    var name: String?

    @Option(help: "Each row's shape as an image, height,width,channels (e.g. 28,28,1); a CSV is a table without it.")
    var shape: String?

    @Flag(help: "Print the data set resource as JSON instead of its id and a summary.")
    var json = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            Console.error("rewind: cannot read \(file)")
            throw ExitCode(2)
        }
        let chosen = name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var path = "/v1/datasets?name=\(ServiceOptions.queryValue(chosen))"
        if let shape { path += "&shape=\(ServiceOptions.queryValue(shape))" }
        // A NumPy archive (np.savez output: a ZIP) is sent as one, anything else as CSV.
        let archive = file.lowercased().hasSuffix(".npz") || data.starts(with: [0x50, 0x4B, 0x03, 0x04])
        let response = try service.call(
            "POST", path, body: [UInt8](data), contentType: archive ? "application/x-npz" : "text/csv")
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
                ListCommand.pad("ID", 36) + "  " + ListCommand.pad("NAME", 16) + "  ROWS × FEATURES (OR H×W×C), CLASSES"
            )
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
        // An image data set shows each row's height×width×channels instead of its feature count.
        let sizes = dataset["shape"]?.arrayValue?.compactMap(\.intValue) ?? []
        let row = sizes.count == 3 ? sizes.map(String.init).joined(separator: "×") : "\(features)"
        return "\(rows) × \(row), \(dataset["classes"]?.intValue ?? 0) classes"
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
