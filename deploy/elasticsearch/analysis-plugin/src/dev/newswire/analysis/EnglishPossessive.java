package dev.newswire.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Drops a trailing 's from words: "Georgia's" indexes as "Georgia" (Lucene's own filter). */
@NamedComponent("newswire_english_possessive")
public final class EnglishPossessive implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream input) {
        return new EnglishPossessiveFilter(input);
    }
}
