using Markdig;
using Markdig.Extensions.Mathematics;
using Markdig.Renderers;
using Markdig.Renderers.Html;

namespace LlmNotebooks.Runner.Book;

/// <summary>
/// Notebooks write display math as <c>$$…$$</c> on one line inside a paragraph; Jupyter and VS Code show it as a
/// centred display formula, but Markdig parses it as inline math (<c>\(…\)</c>). This extension, added after
/// <c>UseAdvancedExtensions()</c>, writes such inline math with two dollars as <c>&lt;span class="math display"&gt;\[…\]&lt;/span&gt;</c>,
/// so KaTeX draws it in display mode as the notebook's author saw it. <c>$…$</c> and block <c>$$</c> are unchanged.
/// </summary>
sealed class DisplayMathExtension : IMarkdownExtension
{
    public void Setup(MarkdownPipelineBuilder pipeline) { }

    public void Setup(MarkdownPipeline pipeline, IMarkdownRenderer renderer)
    {
        if (renderer is HtmlRenderer html)
            html.ObjectRenderers.ReplaceOrAdd<HtmlMathInlineRenderer>(new Renderer());
    }

    sealed class Renderer : HtmlObjectRenderer<MathInline>
    {
        protected override void Write(HtmlRenderer renderer, MathInline math)
        {
            bool display = math.DelimiterCount >= 2;
            if (display) math.GetAttributes().AddClass("display");
            if (renderer.EnableHtmlForInline) renderer.Write("<span").WriteAttributes(math).Write('>');
            renderer.Write(display ? "\\[" : "\\(");
            renderer.WriteEscape(math.Content);
            renderer.Write(display ? "\\]" : "\\)");
            if (renderer.EnableHtmlForInline) renderer.Write("</span>");
        }
    }
}
