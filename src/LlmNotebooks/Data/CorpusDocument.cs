namespace LlmNotebooks.Data;

/// <summary>
/// One document of the generated corpus with its truth: what it is (<paramref name="Label"/>), its language
/// ("en", "ru", or for wrong-language pages "de", "es", "fr", "pl", "it", "nl"), for duplicates the id of the
/// clean document it copies (<paramref name="SourceId"/>), and for clean documents their information content
/// <paramref name="Nats"/>: the sum of −ln p over every random choice the generator made to write them (0 for dirt).
/// Example: Id 17, "Brindle is a town on the Amber River. ...", Clean, "en", null, 14.2.
/// </summary>
public sealed record CorpusDocument(int Id, string Text, DocumentLabel Label, string Language, int? SourceId, double Nats);
