import Testing
@testable import LinearAlgebra

@Test func LinearAlgebraModuleLinks() { #expect(Bool(true)) }
