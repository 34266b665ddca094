import Digest
import Foundation
import HTTPServer
import JSON
import Jobs
import Storage
import Synchronization
import Tuning

/// `POST /v1/datasets`: a CSV or a NumPy `.npz` archive parsed and validated once, at upload, sent
/// raw (`text/csv`, `curl --data-binary @file.csv`; `application/x-npz`) or as a form
/// (`multipart/form-data`, `curl -F file=@file.csv`, a file named `*.npz`).
///
/// Names are unique (for now across the service; per owner once data sets have owners), so that a
/// spec can name an upload like a built-in. The same bytes again answer the stored data set (200)
/// whatever name they come with; another content under a taken name is a 409.
extension RewindAPI {
    func uploadDataset(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let request = context.request
        try requireDeclaredLength(request)
        let upload = try uploadedFile(request)
        guard let name = upload.name, !name.isEmpty, name.count <= Self.maximumDatasetNameLength else {
            throw .invalidQuery(
                "name", "is required: 1 to \(Self.maximumDatasetNameLength) characters (or a file name in the form)")
        }
        guard !BuiltinDatasets.names.contains(name) else {
            throw .conflict("dataset-name-taken", "\(name) is a built-in data set; choose another name")
        }
        let declaredShape = try Self.declaredShape(request.query("shape"))
        let isArchive = try Self.isArchive(request, filename: upload.filename)
        // Bound how many parse at once; each parse's working memory comes from the node's budget.
        guard uploadsInFlight.add(1, ordering: .relaxed).newValue <= configuration.maxConcurrentUploads else {
            uploadsInFlight.subtract(1, ordering: .relaxed)
            throw Self.unavailable(
                "too-many-uploads", "Too many uploads at once",
                "\(configuration.maxConcurrentUploads) data sets are being parsed; retry shortly")
        }
        defer { uploadsInFlight.subtract(1, ordering: .relaxed) }
        guard let working = configuration.memoryBudget.reserve(Self.uploadWorkingBytes, waitingAtMost: 2) else {
            throw Self.unavailable(
                "memory-exhausted", "The server is short of memory",
                "no memory to parse the data set now; retry shortly")
        }
        defer { working.release() }

        let now = clock()
        let id = TimeOrderedID.make(nowMs: now)
        let owner = context.credential.owner
        let quotaLeft = configuration.datasetStorageQuota - (try storedDatasetBytes(owner: owner))
        // Until the data set row is committed its chunks are invisible; any failure drops them.
        var committed = false
        defer { if !committed { try? store.discardDatasetChunks(id: id) } }
        let parsed =
            isArchive
            ? try parseArchiveIntoChunks(upload.bytes, id: id, quotaLeft: quotaLeft)
            : try parseIntoChunks(upload.bytes, id: id, quotaLeft: quotaLeft)
        let counts =
            parsed.labelCounts + Array(repeating: 0, count: max(0, parsed.info.classes - parsed.labelCounts.count))
        if let missing = counts.firstIndex(of: 0) {
            let present = counts.indices.filter { counts[$0] > 0 }.map(String.init).joined(separator: ", ")
            let message =
                "class labels must be 0..K-1 with every class present: the labels are \(present), class \(missing) has no rows"
            throw APIError(
                status: 422, slug: "invalid-dataset", title: "The data set's labels are not 0..K-1", detail: message,
                errors: [SpecError(field: "/body", message: message)])
        }
        let shape = try Self.imageShape(declaredShape, features: parsed.info.features) ?? parsed.imageShape
        let new = NewDataset(
            id: id, name: name, rows: parsed.info.rows, features: parsed.info.features,
            classes: parsed.info.classes, sha256: parsed.sha256, content: [], owner: owner,
            profile: parsed.profile.json().serializedString(), shape: shape)
        // Check and commit under one lock: two uploads of one name cannot both pass the check.
        let outcome = try uploadNames.withLock { _ throws(APIError) -> InsertDatasetOutcome in
            let taken = try storage { try store.listDatasets(owner: new.owner) }.first {
                $0.name == name && $0.sha256 != new.sha256
            }
            if let taken {
                throw .conflict(
                    "dataset-name-taken",
                    "a data set named \(name) already exists (\(taken.id)) with other content; delete it or choose another name"
                )
            }
            return try storage { try store.commitChunkedDataset(new, chunkedBytes: parsed.encodedBytes, nowMs: now) }
        }
        committed = true
        var headers = HTTPHeaders()
        let record: DatasetRecord, status: HTTPStatus
        switch outcome {
        case .created(let created): (record, status) = (created, .created)
        case .existing(let existing): (record, status) = (existing, .ok)
        }
        headers.set("Location", "/v1/datasets/\(record.id)")
        guard case .object(var resource) = Self.datasetResource(record) else {
            preconditionFailure("a resource is an object")
        }
        resource["class_counts"] = JSONValue(counts.map(Double.init))
        // What the upload turned out to hold: the header row (if any), labels, order and ranges.
        resource["detected"] = record.profile.flatMap { try? JSONValue.parse($0) } ?? parsed.profile.json()
        return .json(.object(resource), status: status, headers: headers)
    }

    /// The working memory of one upload's parse, drawn from the node's budget: the chunk being
    /// built, the chunks waiting to be written and the engine's copy of the one being written.
    static let uploadWorkingBytes = 4 * datasetChunkBytes + (1 << 20)
    /// Rows are stored in chunks of about this many bytes.
    static let datasetChunkBytes = 1 << 20
    /// The body is hashed and parsed this many bytes at a time, so that the chunks one slice
    /// produces (up to 4× it, for one-digit values) stay within the working memory.
    static let uploadSliceBytes = 256 << 10

    /// Hashes and parses `bytes` a slice at a time, writing each chunk as it is sealed; 422 at the
    /// first problem (line and column), 507 once the stored form passes `quotaLeft`.
    private func parseIntoChunks(
        _ bytes: ArraySlice<UInt8>, id: String, quotaLeft: Int
    ) throws(APIError) -> ParsedUpload {
        var stream = CSVDatasetStream(chunkBytes: Self.datasetChunkBytes)
        // What the upload holds, gathered row by row as the rows stream past.
        var profile = DatasetProfile()
        var hasher = SHA256.Hasher()
        var seq = 0
        let outcome = bytes.withUnsafeBufferPointer { body in
            Result { () throws -> DatasetInfo in
                func store(_ chunk: [UInt8]) throws {
                    guard stream.encodedBytes <= quotaLeft else { throw QuotaExceeded() }
                    try self.store.putDatasetChunk(id: id, seq: seq, content: chunk)
                    seq += 1
                }
                var offset = 0
                while offset < body.count {
                    let piece = UnsafeBufferPointer(
                        rebasing: body[offset..<min(body.count, offset + Self.uploadSliceBytes)])
                    hasher.update(piece)
                    try stream.feed(piece) { values, label in profile.add(features: values, label: label) }
                    while let chunk = stream.takeChunk() { try store(chunk) }
                    offset += piece.count
                }
                let info = try stream.finish { values, label in profile.add(features: values, label: label) }
                while let chunk = stream.takeChunk() { try store(chunk) }
                return info
            }
        }
        switch outcome {
        case .success(let info):
            profile.header = stream.header
            return ParsedUpload(
                info: info, sha256: hasher.finalize(), labelCounts: stream.labelCounts,
                encodedBytes: stream.encodedBytes, profile: profile, imageShape: nil)
        case .failure(let error as DatasetParseError):
            var message = "line \(error.line), column \(error.column): \(error.message)"
            if !bytes.contains(UInt8(ascii: "\n")) {
                // `curl -d @file` strips newlines, leaving one line: say how to send a file.
                message +=
                    " (the body is a single line: send the file with curl --data-binary @FILE or -F file=@FILE; -d strips newlines)"
            }
            throw APIError(
                ProblemDetails(
                    status: 422, slug: "invalid-dataset", title: "The data set does not parse", detail: message,
                    errors: [SpecError(field: "/body", message: message)],
                    extensions: ["line": .number(Double(error.line)), "column": .number(Double(error.column))]))
        case .failure(is QuotaExceeded):
            throw quotaExceeded(stored: configuration.datasetStorageQuota - quotaLeft, adding: stream.encodedBytes)
        case .failure(let error):
            log("storage error", ["error": "\(error)"])
            throw .storageUnavailable
        }
    }

    private struct QuotaExceeded: Error {}

    /// What an upload's parse found, its chunks already stored.
    private struct ParsedUpload {
        var info: DatasetInfo
        var sha256: String
        var labelCounts: [Int]
        var encodedBytes: Int
        var profile: DatasetProfile
        /// `[height, width, channels]` from an archive's `N×H×W(×C)` `x`; nil for a table.
        var imageShape: [Int]?
    }

    /// Whether the body is a NumPy `.npz` archive: `Content-Type: application/x-npz`,
    /// `?format=npz`, or a form's file named `*.npz`; `?format=csv` is the default.
    static func isArchive(_ request: HTTPRequest, filename: String?) throws(APIError) -> Bool {
        switch request.query("format") {
        case "npz"?: return true
        case "csv"?: return false
        case let other?: throw .invalidQuery("format", "must be csv or npz, not \(other)")
        case nil:
            let mediaType = request.headers["Content-Type"]?.split(separator: ";").first
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            return mediaType == "application/x-npz" || filename?.lowercased().hasSuffix(".npz") == true
        }
    }

    /// Reads a `.npz` archive's `x` and `y` into stored chunks (`NPZDatasetReader`); 422 naming
    /// the problem, 507 once the stored form passes `quotaLeft`.
    private func parseArchiveIntoChunks(
        _ bytes: ArraySlice<UInt8>, id: String, quotaLeft: Int
    ) throws(APIError) -> ParsedUpload {
        var profile = DatasetProfile()
        var seq = 0
        var stored = 0
        let outcome = bytes.withUnsafeBytes { archive in
            Result { () throws -> NPZDatasetReader.Summary in
                try NPZDatasetReader.read(
                    archive, chunkBytes: Self.datasetChunkBytes, row: { profile.add(features: $0, label: $1) }
                ) { chunk in
                    stored += chunk.count
                    guard stored <= quotaLeft else { throw QuotaExceeded() }
                    try self.store.putDatasetChunk(id: id, seq: seq, content: chunk)
                    seq += 1
                }
            }
        }
        switch outcome {
        case .success(let summary):
            var hasher = SHA256.Hasher()
            bytes.withUnsafeBufferPointer { hasher.update($0) }
            return ParsedUpload(
                info: summary.info, sha256: hasher.finalize(), labelCounts: summary.labelCounts,
                encodedBytes: summary.encodedBytes, profile: profile, imageShape: summary.imageShape)
        case .failure(let error as NPZParseError):
            throw APIError(
                status: 422, slug: "invalid-dataset", title: "The .npz archive is refused",
                detail: ".npz: \(error.message)", errors: [SpecError(field: "/body", message: error.message)])
        case .failure(is QuotaExceeded):
            throw quotaExceeded(stored: configuration.datasetStorageQuota - quotaLeft, adding: stored)
        case .failure(let error):
            log("storage error", ["error": "\(error)"])
            throw .storageUnavailable
        }
    }

    /// `?shape=28,28,1` (an image's height, width and channels) or `?shape=784` (a table's
    /// features), or nil when absent; 422 naming `shape` when it is not one of those.
    static func declaredShape(_ text: String?) throws(APIError) -> [Int]? {
        guard let text else { return nil }
        let sizes = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard sizes.count == 1 || sizes.count == 3, sizes.allSatisfy({ ($0 ?? 0) > 0 && $0! <= 1 << 20 }) else {
            throw .invalidQuery(
                "shape", "must be height,width,channels (e.g. 28,28,1) or the feature count: positive integers")
        }
        return sizes.map { $0! }
    }

    /// The image shape to store, `[height, width, channels]`, or nil for a table; 422 naming
    /// `shape` when the declared one does not hold exactly `features` values.
    static func imageShape(_ declared: [Int]?, features: Int) throws(APIError) -> [Int]? {
        guard let declared else { return nil }
        let product = declared.reduce(1, *)  // at most 2^60: each size is at most 2^20
        guard product == features else {
            throw .invalidQuery(
                "shape",
                "\(declared.map(String.init).joined(separator: "×")) = \(product) values, but each row has \(features) features"
            )
        }
        return declared.count == 3 ? declared : nil
    }

    /// 503 with `Retry-After`.
    static func unavailable(_ slug: String, _ title: String, _ detail: String) -> APIError {
        var headers = HTTPHeaders()
        headers.set("Retry-After", "2")
        return APIError(ProblemDetails(status: 503, slug: slug, title: title, detail: detail), headers: headers)
    }

    /// The CSV bytes and the name to store them under: the raw body and `?name=`, or a form's file
    /// part with `?name=`, a `name` field or the file name without its extension.
    func uploadedFile(
        _ request: HTTPRequest
    ) throws(APIError) -> (name: String?, bytes: ArraySlice<UInt8>, filename: String?) {
        guard let contentType = request.headers["Content-Type"],
            let boundary = MultipartForm.boundary(contentType: contentType)
        else {
            return (request.query("name"), request.body[...], nil)
        }
        let form: MultipartForm
        do {
            form = try MultipartForm(body: request.body, boundary: boundary)
        } catch {
            throw APIError(
                status: 400, slug: "malformed-multipart", title: "The form does not parse", detail: error.message)
        }
        guard
            let file = form.parts.first(where: { $0.filename != nil }) ?? form.parts.first(where: { $0.name == "file" })
        else {
            throw APIError(
                status: 422, slug: "invalid-dataset", title: "The form has no file",
                detail: "send the CSV as a file part, e.g. curl -F file=@data.csv",
                errors: [SpecError(field: "/body", message: "no file part")])
        }
        // A form's empty name field (left blank in a browser) means "use the file name".
        let field = form.parts.first { $0.name == "name" && $0.filename == nil }
            .map { String(decoding: $0.content, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
            .flatMap { $0.isEmpty ? nil : $0 }
        let stem = file.filename.map { name -> String in
            let base = name.split(separator: "/").last.map(String.init) ?? name
            guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return base }
            return String(base[..<dot])
        }
        return (request.query("name") ?? field ?? stem, file.content, file.filename)
    }
}

extension RewindAPI {
    /// A data set resource with the rows per class (`class_counts`) and what the upload held
    /// (`detected`: as recorded at upload; for a data set stored before that was recorded, read
    /// from its rows, less the header, which only the upload saw).
    func withClassCounts(_ resource: JSONValue, id: String, profile: String? = nil) -> JSONValue {
        guard case .object(var object) = resource,
            let dataset = StoreDatasetResolver(store: store).dataset(.uploaded(id: id))
        else { return resource }
        object["class_counts"] = JSONValue(dataset.labelCounts.map(Double.init))
        if let recorded = profile.flatMap({ try? JSONValue.parse($0) }) {
            object["detected"] = recorded
        } else if case .object(var detected) = DatasetProfile(dataset: dataset).json() {
            detected["header"] = nil
            detected["has_header"] = nil
            object["detected"] = .object(detected)
        }
        return .object(object)
    }
}

/// Serialises the name check and the insert of uploads in this process.
private let uploadNames = Mutex<Void>(())
