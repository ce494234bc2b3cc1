namespace LlmNotebooks.Data;

/// <summary>What a document in the generated corpus really is: the truth a cleaning pipeline is scored against.</summary>
public enum DocumentLabel
{
    /// <summary>A document written by the generator, worth training on.</summary>
    Clean,
    /// <summary>A verbatim copy of an earlier clean document (a page crawled twice).</summary>
    ExactDuplicate,
    /// <summary>An earlier clean document with small edits: a word or number changed, punctuation, a "Read more..." tail.</summary>
    NearDuplicate,
    /// <summary>Page furniture and spam: cookie banners, newsletter boxes, menus, "Buy cheap ... !!!", copyright lines.</summary>
    Boilerplate,
    /// <summary>Text that went through the wrong encoding (mojibake such as "Ã©" or "РњРёСЂР°"), U+FFFD runs, symbol noise.</summary>
    EncodingGarbage,
    /// <summary>A page (or a part of one) in a language the corpus does not accept (it accepts English and Russian).</summary>
    WrongLanguage,
}
