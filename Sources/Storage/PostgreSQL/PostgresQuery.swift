/// A statement written with named parameters (`:now`, like the SQLite engine's), translated once
/// into PostgreSQL's positional `$1, $2, ...`.
///
/// Writing names keeps each statement readable and lets both engines take the same
/// `SQLArguments`. A name used twice maps to one position. `::type` casts, string literals and
/// quoted identifiers are left alone.
struct PostgresQuery: Sendable, Hashable, SQLStatementText {
    /// The statement as written, for error messages.
    let sql: String
    /// The statement with `$N` placeholders, as sent to the server.
    let text: String
    /// The parameter name (with its colon) of each position.
    let names: [String]

    init(sql: String) { self.init(sql) }

    init(_ sql: String) {
        self.sql = sql
        var text = ""
        var names: [String] = []
        let characters = Array(sql)
        var index = 0
        var quote: Character?
        while index < characters.count {
            let character = characters[index]
            if let open = quote {
                text.append(character)
                if character == open { quote = nil }
                index += 1
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                text.append(character)
                index += 1
                continue
            }
            if character == ":" {
                let next = index + 1 < characters.count ? characters[index + 1] : " "
                if next == ":" {
                    // A cast: copy both colons and the type name after them unchanged.
                    text += "::"
                    index += 2
                    continue
                }
                if next.isLetter || next == "_" {
                    var end = index + 1
                    while end < characters.count,
                        characters[end].isLetter || characters[end].isNumber || characters[end] == "_"
                    {
                        end += 1
                    }
                    let name = String(characters[index..<end])
                    let position =
                        names.firstIndex(of: name)
                        ?? {
                            names.append(name)
                            return names.count - 1
                        }()
                    text += "$\(position + 1)"
                    index = end
                    continue
                }
            }
            text.append(character)
            index += 1
        }
        self.text = text
        self.names = names
    }

    /// The values in position order. An argument the statement does not name is a bug in the
    /// caller (a trap).
    ///
    /// - Throws: `MissingSQLParameter` for a name `arguments` lacks: NULL must be passed as `.null`.
    func values(_ arguments: SQLArguments) throws -> [SQLValue] {
        for name in arguments.keys {
            precondition(names.contains(name), "no parameter \(name) in \"\(sql)\"")
        }
        return try names.map { name in
            guard let value = arguments[name] else { throw MissingSQLParameter(name: name, sql: sql) }
            return value
        }
    }
}
