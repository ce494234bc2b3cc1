using LlmNotebooks.Autograd;

namespace LlmNotebooks.Tests.Autograd;

/// <summary>The guards of <see cref="Value"/> by their messages: without them Math.Log and Math.Pow return NaN or ∞ silently.</summary>
public class ValueGuardTests
{
    [Fact]
    public void Log_of_a_number_that_is_not_positive_is_refused_in_the_courses_words()
    {
        Assert.Equal("log needs a positive number, but p is -1. (Parameter 'Data')",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Value(-1, "p").Log()).Message);
        Assert.Equal("log needs a positive number, but the value is 0. (Parameter 'Data')",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Value(0).Log()).Message);
        Assert.Equal("log needs a positive number, but x is NaN. (Parameter 'Data')",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Value(double.NaN, "x").Log()).Message);
        Assert.Equal(Math.Log(1e-300), new Value(1e-300).Log().Data);               // tiny but positive is fine
    }

    [Fact]
    public void Powers_that_are_not_finite_real_numbers_are_refused_in_the_courses_words()
    {
        const string advice = "use a positive base, or a whole-number exponent with a non-zero base. (Parameter 'exponent')";
        Assert.Equal("z^-1 is not a finite real number (base 0); " + advice,
            Assert.Throws<ArgumentOutOfRangeException>(() => new Value(0, "z").Pow(-1)).Message);
        Assert.Equal("the value^0.5 is not a finite real number (base -2); " + advice,
            Assert.Throws<ArgumentOutOfRangeException>(() => new Value(-2).Pow(0.5)).Message);
        Assert.Equal("w^2 is not a finite real number (base 1E+200); " + advice,
            Assert.Throws<ArgumentOutOfRangeException>(() => new Value(1e200, "w").Pow(2)).Message);
        Assert.Equal("the value^-1 is not a finite real number (base 0); " + advice,
            Assert.Throws<ArgumentOutOfRangeException>(() => 1 / new Value(0)).Message);
        // Allowed: a negative base with a whole exponent, zero to a positive power.
        Assert.Equal(-8, new Value(-2).Pow(3).Data);
        Assert.Equal(0, new Value(0).Pow(2).Data);
        Assert.Equal("^3", new Value(-2).Pow(3).Op);
    }
}
