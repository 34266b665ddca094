import Storage
import Tuning

/// Resolves a spec's data set: built-ins from the binary, uploads from the store.
public struct StoreDatasetResolver: DatasetResolver, Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public func dataset(_ reference: DatasetReference) -> Dataset? {
        switch reference {
        case .builtin:
            return BuiltinDatasetResolver().dataset(reference)
        case .uploaded(let id):
            // A built-in is also addressable by its id, which is its name.
            if let builtin = BuiltinDatasets.named(id) { return builtin }
            guard let record = try? store.dataset(id: id) else { return nil }
            return content(of: record)
        case .file:
            // The service reads no local files: `resolve` answers that a file is for `rewind run`.
            return nil
        }
    }

    /// The content of an upload whose record the caller has already read (and checked).
    public func content(of upload: UploadedDatasetName) -> Dataset? {
        guard let record = try? store.dataset(id: upload.id) else { return nil }
        return content(of: record)
    }

    /// A data set's content: stored whole (before migration 0005) or in chunks (its `content` is
    /// empty), read one chunk at a time.
    private func content(of record: DatasetRecord) -> Dataset? {
        guard let content = try? store.datasetContent(id: record.id) else { return nil }
        var dataset = content.isEmpty ? assembled(record) : try? Dataset(encoded: content, name: record.name)
        dataset?.setImageShape(record.shape)
        return dataset
    }

    /// A chunked data set read one chunk at a time: what loading holds is the data set and one chunk.
    private func assembled(_ record: DatasetRecord) -> Dataset? {
        var assembler = DatasetAssembler(
            name: record.name, rows: record.rows, features: record.features, classes: record.classes)
        var seq = 0
        do {
            while let chunk = try store.datasetChunk(id: record.id, seq: seq) {
                try assembler.append(chunk: chunk)
                seq += 1
            }
            return try assembler.dataset()
        } catch {
            return nil
        }
    }
}
