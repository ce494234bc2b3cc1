using LlmNotebooks.Notebook;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Notebook;

public class CourseTests
{
    [Fact]
    public void The_same_seed_gives_the_same_numbers()
    {
        Course.Seed(42);
        using var a = randn(5);
        int r1 = Course.Random.Next();
        Course.Seed(42);
        using var b = randn(5);
        int r2 = Course.Random.Next();
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.Equal(r1, r2);
        Course.Seed(43);
        using var c = randn(5);
        Assert.NotEqual(a.data<float>().ToArray(), c.data<float>().ToArray());
    }

    [Fact]
    public void Setup_reports_the_backend_and_seed()
    {
        string summary = Course.Setup(7);
        Assert.Contains("TorchSharp 0.107.0", summary);
        Assert.Contains("seed 7", summary);
        Assert.False(Course.InNotebook);
    }
}
