package dev.newswire.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.es.SpanishLightStemFilter;
import org.apache.lucene.analysis.es.SpanishPluralStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * Lucene's Spanish plural stemmer, then its light stemmer: elecciones, elección -> eleccion.
 *
 * The light stemmer alone leaves short plurals ("días") apart from their singular.
 */
@NamedComponent("newswire_spanish_stem")
public final class SpanishStem implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream input) {
        return new SpanishLightStemFilter(new SpanishPluralStemFilter(input));
    }
}
