using LlmNotebooks.Data;

namespace LlmNotebooks.Tests.Data;

public class NumberTranslationTests
{
    static readonly NumberTranslation Task = new(9999);

    [Theory]
    [InlineData(1234, "ru", "одна тысяча двести тридцать четыре")]
    [InlineData(2000, "ru", "две тысячи")]
    [InlineData(21, "en", "twenty-one")]
    [InlineData(0, "en", "zero")]
    public void Words_come_from_Humanizer_and_round_trip(int n, string language, string expected)
    {
        Assert.Equal(expected, NumberTranslation.Join(NumberTranslation.Words(n, language)));
        Assert.Equal(expected, Task.DecodeTarget(Task.EncodeTarget(n, language)));
    }

    [Fact]
    public void Batches_shift_the_target_by_one()
    {
        var (src, tin, tout) = Task.Batch([(21, "en"), (7, "ru")]);
        Assert.Equal(new long[] { 2, 3 }, src.shape);                     // <en> 2 1 / <ru> 7 <pad>
        Assert.Equal(Task.BosId, tin[0, 0].item<long>());
        Assert.Equal(tin[0, 1].item<long>(), tout[0, 0].item<long>());
        Assert.Equal(Task.EosId, tout[0, 3].item<long>());              // twenty - one <eos>
        Assert.Equal(0, tout[1, 2].item<long>());                         // padding after "семь <eos>"
    }

    [Fact]
    public void The_split_is_seeded_and_disjoint()
    {
        var (train, test) = Task.Split(seed: 1, testFraction: 0.1);
        Assert.Equal(1000, test.Length);
        Assert.Equal(10000, train.Length + test.Length);
        Assert.Empty(train.Intersect(test));
        Assert.Equal(test, Task.Split(seed: 1, testFraction: 0.1).Test);
    }

    [Fact]
    public void Vocabularies_and_lengths()
    {
        Assert.Equal(13, Task.SourceTokens.Count);
        Assert.Equal(5, Task.MaxSourceLength);
        Assert.InRange(Task.TargetTokens.Count, 60, 120);
        Assert.Throws<ArgumentException>(() => NumberTranslation.Words(5, "de"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Task.EncodeSource(10000, "ru"));
    }
}
